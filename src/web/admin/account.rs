//! Signing in and out, the set-up and invitation links, API tokens.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{get, post, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{see_other, Errors};
use crate::app::accounts::{self, AccountError};
use crate::store::organisers::{ApiToken, TokenPurpose};
use crate::store::Store;
use crate::tokens;
use crate::web::auth::{self, CurrentOrganiser};
use crate::web::client_address::client_address;
use crate::web::csrf::CsrfToken;
use crate::web::limits::{Decision, SignInLimiter};
use crate::web::pages::internal_error as internal;
use crate::web::pages::{message, render, render_status};
use crate::web::WebSettings;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    csrf: CsrfToken,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[get("/login")]
pub async fn login_form(csrf: CsrfToken, q: Query<NextQuery>) -> HttpResponse {
    render(&LoginPage {
        csrf,
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Only paths inside the console, so the login page cannot send people elsewhere: a single
/// leading `/` (not `//` or `/\`, which browsers read as another host), visible ASCII only
/// (a CR or LF would make the `Location` header invalid, after the session was created).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_console_path(n) => n.to_string(),
        _ => "/admin".to_string(),
    }
}

fn is_console_path(next: &str) -> bool {
    (next == "/admin" || next.starts_with("/admin/") || next.starts_with("/admin?"))
        && next.bytes().all(|b| b.is_ascii_graphic())
        && !next.contains('\\')
        && !next.contains("://")
}

#[post("/login")]
pub async fn login(
    req: HttpRequest,
    csrf: CsrfToken,
    store: Data<Store>,
    limiter: Data<SignInLimiter>,
    form: Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let address = client_address(&req);
    let account = form.email.trim().to_lowercase();
    let page = |error: &str| LoginPage {
        csrf: csrf.clone(),
        email: form.email.clone(),
        next: safe_next(Some(&form.next)),
        error: Some(error.to_string()),
    };
    match limiter.check(&account, address, Utc::now()).await {
        Ok(Decision::Allow) => {}
        Ok(Decision::Wait(seconds)) => {
            let unit = if seconds == 1 { "second" } else { "seconds" };
            let mut response = render_status(
                StatusCode::TOO_MANY_REQUESTS,
                &page(&format!(
                    "Too many attempts to sign in. Wait {seconds} {unit}, then try again."
                )),
            );
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(seconds),
            );
            return response;
        }
        Err(e) => return internal(e),
    }
    match accounts::verify_login(&store, &account, &form.password).await {
        Ok(Some(organiser)) => {
            if let Err(e) = limiter.record_success(&account, address, Utc::now()).await {
                return internal(e);
            }
            match start_session(&req, &store, organiser.id).await {
                Ok(cookie) => HttpResponse::SeeOther()
                    .cookie(cookie)
                    .cookie(crate::web::csrf::fresh_cookie(&req))
                    .insert_header(("Location", safe_next(Some(&form.next))))
                    .finish(),
                Err(e) => internal(e),
            }
        }
        Ok(None) => {
            if let Err(e) = limiter.record_failure(&account, address, Utc::now()).await {
                return internal(e);
            }
            render_status(
                StatusCode::UNAUTHORIZED,
                &page("That email address and password do not match an organiser account."),
            )
        }
        Err(e) => internal(e),
    }
}

pub(super) async fn start_session(
    req: &HttpRequest,
    store: &Store,
    organiser_id: i64,
) -> Result<actix_web::cookie::Cookie<'static>, anyhow::Error> {
    let token = tokens::new_token();
    let now = Utc::now();
    store
        .create_session(
            organiser_id,
            &tokens::hash_token(&token),
            now,
            now + Duration::hours(auth::SESSION_HOURS),
        )
        .await?;
    store.record_login(organiser_id, now).await?;
    Ok(auth::session_cookie(req, Some(&token)))
}

#[post("/logout")]
pub async fn logout(req: HttpRequest, store: Data<Store>) -> HttpResponse {
    if let Some(token) = auth::session_token(&req) {
        if let Err(e) = store.delete_session(&tokens::hash_token(&token)).await {
            return internal(e);
        }
    }
    HttpResponse::SeeOther()
        .cookie(auth::session_cookie(&req, None))
        .insert_header(("Location", "/admin/login"))
        .finish()
}

#[derive(Template)]
#[template(path = "admin/create_account.html")]
struct CreateAccountPage {
    csrf: CsrfToken,
    heading: &'static str,
    action: String,
    email: String,
    email_fixed: bool,
    errors: Errors,
}

#[derive(Deserialize)]
pub struct CreateAccountForm {
    #[serde(default)]
    email: String,
    password: String,
    password_again: String,
}

fn link_gone() -> HttpResponse {
    message(
        StatusCode::GONE,
        "This link can no longer be used",
        "The link has already been used or has expired. Ask an organiser for a new invitation, or restart the service to get a new set-up link if nobody has an account yet.",
    )
}

async fn account_form(
    store: &Store,
    csrf: CsrfToken,
    purpose: TokenPurpose,
    token: &str,
) -> HttpResponse {
    match accounts::usable_account_link(store, purpose, token, Utc::now()).await {
        Ok(Some(t)) => render(&CreateAccountPage {
            csrf,
            heading: heading(purpose),
            action: format!("/admin/{}/{token}", purpose.as_str()),
            email: t.email.clone().unwrap_or_default(),
            email_fixed: t.email.is_some(),
            errors: Errors::default(),
        }),
        Ok(None) => link_gone(),
        Err(e) => internal(e),
    }
}

fn heading(purpose: TokenPurpose) -> &'static str {
    match purpose {
        TokenPurpose::Setup => "Create the first organiser account",
        TokenPurpose::Invite => "Create your organiser account",
        // Reset links have their own pages (`recovery`) and never reach this form.
        TokenPurpose::Reset => "Choose a new password",
    }
}

async fn create_account(
    req: &HttpRequest,
    store: &Store,
    csrf: CsrfToken,
    purpose: TokenPurpose,
    token: &str,
    form: CreateAccountForm,
) -> HttpResponse {
    let input = accounts::NewAccount {
        email: &form.email,
        password: &form.password,
        password_again: &form.password_again,
    };
    match accounts::create_account_from_link(store, purpose, token, &input, Utc::now()).await {
        Ok(organiser) => match start_session(req, store, organiser.id).await {
            Ok(cookie) => HttpResponse::SeeOther()
                .cookie(cookie)
                .cookie(crate::web::csrf::fresh_cookie(req))
                .insert_header(("Location", "/admin"))
                .finish(),
            Err(e) => internal(e),
        },
        Err(AccountError::LinkUnusable) => link_gone(),
        Err(AccountError::Invalid {
            errors,
            invited_email,
        }) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CreateAccountPage {
                csrf,
                heading: heading(purpose),
                action: format!("/admin/{}/{token}", purpose.as_str()),
                email_fixed: invited_email.is_some(),
                email: invited_email.unwrap_or(form.email),
                errors: Errors(errors),
            },
        ),
        Err(e) => internal(e),
    }
}

#[get("/setup/{token}")]
pub async fn setup_form(store: Data<Store>, csrf: CsrfToken, token: Path<String>) -> HttpResponse {
    account_form(&store, csrf, TokenPurpose::Setup, &token).await
}

#[post("/setup/{token}")]
pub async fn setup(
    req: HttpRequest,
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<CreateAccountForm>,
) -> HttpResponse {
    create_account(
        &req,
        &store,
        csrf,
        TokenPurpose::Setup,
        &token,
        form.into_inner(),
    )
    .await
}

#[get("/invite/{token}")]
pub async fn invite_form(store: Data<Store>, csrf: CsrfToken, token: Path<String>) -> HttpResponse {
    account_form(&store, csrf, TokenPurpose::Invite, &token).await
}

#[post("/invite/{token}")]
pub async fn invite(
    req: HttpRequest,
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<CreateAccountForm>,
) -> HttpResponse {
    create_account(
        &req,
        &store,
        csrf,
        TokenPurpose::Invite,
        &token,
        form.into_inner(),
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    csrf: CsrfToken,
    organiser: String,
    tokens: Vec<ApiToken>,
    new_token: Option<String>,
    errors: Errors,
    name: String,
    expires_on: String,
}

/// What the token form sent back, to show again next to an error.
#[derive(Default)]
struct TokenFormValues {
    name: String,
    expires_on: String,
}

async fn tokens_view(
    store: &Store,
    csrf: CsrfToken,
    me: &CurrentOrganiser,
    new_token: Option<String>,
    errors: Errors,
    values: TokenFormValues,
) -> HttpResponse {
    match store.list_api_tokens(me.0.id).await {
        Ok(tokens) => {
            let status = if errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render_status(
                status,
                &TokensPage {
                    csrf,
                    organiser: me.0.email.clone(),
                    tokens,
                    new_token,
                    errors,
                    name: values.name,
                    expires_on: values.expires_on,
                },
            )
        }
        Err(e) => internal(e),
    }
}

#[get("/tokens")]
pub async fn tokens_page(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
) -> HttpResponse {
    tokens_view(
        &store,
        csrf,
        &me,
        None,
        Errors::default(),
        TokenFormValues::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    /// YYYY-MM-DD, the last day the token works; empty for a token that does not expire.
    #[serde(default)]
    expires_on: String,
}

/// A token works until the end of its last day (UTC), which must not have passed.
fn token_expiry(
    raw: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Option<chrono::DateTime<Utc>>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| "give a date such as 2027-06-30, or leave this empty".to_string())?;
    if day < now.date_naive() {
        return Err("choose today or a later day".into());
    }
    if day > now.date_naive() + Duration::days(5 * 366) {
        return Err("choose a day within five years".into());
    }
    let end = day
        .succ_opt()
        .unwrap_or(day)
        .and_time(chrono::NaiveTime::MIN);
    Ok(Some(end.and_utc()))
}

#[post("/tokens")]
pub async fn create_token(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
    form: Form<TokenForm>,
) -> HttpResponse {
    let values = || TokenFormValues {
        name: form.name.clone(),
        expires_on: form.expires_on.clone(),
    };
    let expires_at = match token_expiry(&form.expires_on, Utc::now()) {
        Ok(e) => e,
        Err(m) => {
            return tokens_view(
                &store,
                csrf,
                &me,
                None,
                Errors::one("expires_on", m),
                values(),
            )
            .await
        }
    };
    let name = match crate::domain::ShortText::parse(&form.name, 80, false) {
        Ok(n) if !n.as_str().is_empty() => n.into_string(),
        Ok(_) => {
            return tokens_view(
                &store,
                csrf,
                &me,
                None,
                Errors::one(
                    "name",
                    "give the token a name, such as the script that will use it",
                ),
                values(),
            )
            .await
        }
        Err(e) => {
            return tokens_view(&store, csrf, &me, None, Errors::one("name", e), values()).await
        }
    };
    let token = tokens::new_token();
    match store
        .create_api_token(
            me.0.id,
            &name,
            &tokens::hash_token(&token),
            Utc::now(),
            expires_at,
        )
        .await
    {
        // Shown on this response only: the database keeps just its hash.
        Ok(_) => {
            tokens_view(
                &store,
                csrf,
                &me,
                Some(token),
                Errors::default(),
                TokenFormValues::default(),
            )
            .await
        }
        Err(e) => internal(e),
    }
}

#[post("/tokens/{id}/revoke")]
pub async fn revoke_token(store: Data<Store>, me: CurrentOrganiser, id: Path<i64>) -> HttpResponse {
    match store.revoke_api_token(me.0.id, *id, Utc::now()).await {
        Ok(_) => see_other("/admin/tokens"),
        Err(e) => internal(e),
    }
}

#[derive(Template)]
#[template(path = "admin/invite.html")]
struct InvitePage {
    csrf: CsrfToken,
    email: String,
    admin: bool,
    errors: Errors,
    sent_link: Option<String>,
    smtp_configured: bool,
}

#[get("/organisers/invite")]
pub async fn invite_page(csrf: CsrfToken, web_settings: Data<WebSettings>) -> HttpResponse {
    render(&InvitePage {
        csrf,
        email: String::new(),
        admin: false,
        errors: Errors::default(),
        sent_link: None,
        smtp_configured: web_settings.smtp_configured,
    })
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    /// A ticked box sends "on"; an unticked one sends nothing.
    #[serde(default)]
    admin: Option<String>,
}

#[post("/organisers/invite")]
pub async fn send_invite(
    store: Data<Store>,
    csrf: CsrfToken,
    web_settings: Data<WebSettings>,
    form: Form<InviteForm>,
) -> HttpResponse {
    let as_admin = form.admin.is_some();
    let page = |errors, sent_link| InvitePage {
        csrf: csrf.clone(),
        email: form.email.clone(),
        admin: as_admin,
        errors,
        sent_link,
        smtp_configured: web_settings.smtp_configured,
    };
    match accounts::invite_organiser(&store, &web_settings.base_url, &form.email, as_admin).await {
        Ok(link) => render(&page(Errors::default(), Some(link))),
        Err(accounts::InviteError::InvalidEmail(m)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(Errors::one("email", m), None),
        ),
        Err(accounts::InviteError::AlreadyOrganiser) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                Errors::one("email", "this person is already an organiser"),
                None,
            ),
        ),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_leads_into_the_console() {
        for good in ["/admin", "/admin/trials/x?saved=1", "/admin?x=1"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "/admin\r\nSet-Cookie: x=1",
            "/admin/\n",
            "/admin/\u{0}",
            "//evil.example/admin",
            "/\\evil.example",
            "/admin\\..\\x",
            "https://evil.example/admin",
            "/admin/x?u=https://evil.example",
            "/administrator",
            "/admin/é",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/admin", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/admin");
    }
}
