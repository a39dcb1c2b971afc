//! Signing in and out, the set-up and invitation links, API tokens.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{get, post, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{see_other, Errors};
use crate::app::accounts::{self, AccountError};
use crate::app::limits::{Decision, SignInLimiter};
use crate::app::sessions::{self, TokenError};
use crate::store::organisers::{ApiToken, TokenPurpose};
use crate::store::Store;
use crate::web::auth::{self, CurrentOrganiser};
use crate::web::client_address::client_address;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{render, render_status};
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
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let address = client_address(&req);
    let account = form.email.trim().to_lowercase();
    let page = |error: &str| LoginPage {
        csrf: csrf.clone(),
        email: form.email.clone(),
        next: safe_next(Some(&form.next)),
        error: Some(error.to_string()),
    };
    if let Decision::Wait(seconds) = limiter
        .check(&account, address, Utc::now())
        .await
        .map_err(PageError::unexpected)?
    {
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
        return Ok(response);
    }
    match accounts::verify_login(&store, &account, &form.password)
        .await
        .map_err(PageError::unexpected)?
    {
        Some(organiser) => {
            limiter
                .record_success(&account, address, Utc::now())
                .await
                .map_err(PageError::unexpected)?;
            let cookie = start_session(&req, &store, organiser.id).await?;
            Ok(HttpResponse::SeeOther()
                .cookie(cookie)
                .cookie(crate::web::csrf::fresh_cookie(&req))
                .insert_header(("Location", safe_next(Some(&form.next))))
                .finish())
        }
        None => {
            limiter
                .record_failure(&account, address, Utc::now())
                .await
                .map_err(PageError::unexpected)?;
            Ok(render_status(
                StatusCode::UNAUTHORIZED,
                &page("That email address and password do not match an organiser account."),
            ))
        }
    }
}

/// Starts a session for the organiser and returns its cookie.
pub(super) async fn start_session(
    req: &HttpRequest,
    store: &Store,
    organiser_id: i64,
) -> Result<actix_web::cookie::Cookie<'static>, PageError> {
    let token = sessions::start(
        store,
        organiser_id,
        Duration::hours(auth::SESSION_HOURS),
        Utc::now(),
    )
    .await?;
    Ok(auth::session_cookie(req, Some(&token)))
}

#[post("/logout")]
pub async fn logout(req: HttpRequest, store: Data<Store>) -> Result<HttpResponse, PageError> {
    if let Some(token) = auth::session_token(&req) {
        sessions::end(&store, &token).await?;
    }
    Ok(HttpResponse::SeeOther()
        .cookie(auth::session_cookie(&req, None))
        .insert_header(("Location", "/admin/login"))
        .finish())
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

fn link_gone() -> PageError {
    PageError::refused(
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
) -> Result<HttpResponse, PageError> {
    let t = accounts::usable_account_link(store, purpose, token, Utc::now())
        .await?
        .ok_or_else(link_gone)?;
    Ok(render(&CreateAccountPage {
        csrf,
        heading: heading(purpose),
        action: format!("/admin/{}/{token}", purpose.as_str()),
        email: t.email.clone().unwrap_or_default(),
        email_fixed: t.email.is_some(),
        errors: Errors::default(),
    }))
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
) -> Result<HttpResponse, PageError> {
    let input = accounts::NewAccount {
        email: &form.email,
        password: &form.password,
        password_again: &form.password_again,
    };
    match accounts::create_account_from_link(store, purpose, token, &input, Utc::now()).await {
        Ok(organiser) => {
            let cookie = start_session(req, store, organiser.id).await?;
            Ok(HttpResponse::SeeOther()
                .cookie(cookie)
                .cookie(crate::web::csrf::fresh_cookie(req))
                .insert_header(("Location", "/admin"))
                .finish())
        }
        Err(AccountError::LinkUnusable) => Err(link_gone()),
        Err(AccountError::Invalid {
            errors,
            invited_email,
        }) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CreateAccountPage {
                csrf,
                heading: heading(purpose),
                action: format!("/admin/{}/{token}", purpose.as_str()),
                email_fixed: invited_email.is_some(),
                email: invited_email.unwrap_or(form.email),
                errors: Errors(errors),
            },
        )),
        Err(e) => Err(PageError::unexpected(e)),
    }
}

#[get("/setup/{token}")]
pub async fn setup_form(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    account_form(&store, csrf, TokenPurpose::Setup, &token).await
}

#[post("/setup/{token}")]
pub async fn setup(
    req: HttpRequest,
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<CreateAccountForm>,
) -> Result<HttpResponse, PageError> {
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
pub async fn invite_form(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    account_form(&store, csrf, TokenPurpose::Invite, &token).await
}

#[post("/invite/{token}")]
pub async fn invite(
    req: HttpRequest,
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<CreateAccountForm>,
) -> Result<HttpResponse, PageError> {
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
) -> Result<HttpResponse, PageError> {
    let tokens = sessions::api_tokens(store, me.0.id).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(
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
    ))
}

#[get("/tokens")]
pub async fn tokens_page(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
) -> Result<HttpResponse, PageError> {
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

#[post("/tokens")]
pub async fn create_token(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
    form: Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    match sessions::create_api_token(&store, me.0.id, &form.name, &form.expires_on, Utc::now())
        .await
    {
        // Shown on this response only: the database keeps just its hash.
        Ok(token) => {
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
        Err(TokenError::Invalid(error)) => {
            let values = TokenFormValues {
                name: form.name.clone(),
                expires_on: form.expires_on.clone(),
            };
            tokens_view(&store, csrf, &me, None, Errors(vec![error]), values).await
        }
        Err(TokenError::Store(e)) => Err(e.into()),
    }
}

#[post("/tokens/{id}/revoke")]
pub async fn revoke_token(
    store: Data<Store>,
    me: CurrentOrganiser,
    id: Path<i64>,
) -> Result<HttpResponse, PageError> {
    sessions::revoke_api_token(&store, me.0.id, *id, Utc::now()).await?;
    Ok(see_other("/admin/tokens"))
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
    CurrentOrganiser(me): CurrentOrganiser,
    form: Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let as_admin = form.admin.is_some();
    let page = |errors, sent_link| InvitePage {
        csrf: csrf.clone(),
        email: form.email.clone(),
        admin: as_admin,
        errors,
        sent_link,
        smtp_configured: web_settings.smtp_configured,
    };
    match accounts::invite_organiser_from(
        &store,
        &web_settings.base_url,
        &form.email,
        as_admin,
        Some(&me.email),
    )
    .await
    {
        Ok(link) => Ok(render(&page(Errors::default(), Some(link)))),
        Err(accounts::InviteError::InvalidEmail(m)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(Errors::one("email", m), None),
        )),
        Err(accounts::InviteError::AlreadyOrganiser) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                Errors::one("email", "this person is already an organiser"),
                None,
            ),
        )),
        Err(e) => Err(PageError::unexpected(e)),
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
