//! "Forgot your password?": a one-time link by email, and the page behind it.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::Errors;
use crate::app::accounts;
use crate::store::Store;
use crate::tokens;
use crate::web::auth::passwords;
use crate::web::csrf::CsrfToken;
use crate::web::pages::internal_error as internal;
use crate::web::pages::{message, render, render_status};
use crate::web::WebSettings;

#[derive(Template)]
#[template(path = "admin/forgot.html")]
struct ForgotPage {
    csrf: CsrfToken,
    email: String,
    sent: bool,
}

#[get("/forgot")]
pub async fn forgot_form(csrf: CsrfToken) -> HttpResponse {
    render(&ForgotPage {
        csrf,
        email: String::new(),
        sent: false,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

#[post("/forgot")]
pub async fn forgot(
    store: Data<Store>,
    csrf: CsrfToken,
    web_settings: Data<WebSettings>,
    form: Form<ForgotForm>,
) -> HttpResponse {
    // The page says the same whether or not the address has an account, so that it cannot be
    // used to find out who organises; only the mailbox's owner learns the difference.
    match accounts::request_password_reset(&store, &web_settings.base_url, &form.email, true).await
    {
        Ok(_) => render(&ForgotPage {
            csrf,
            email: form.email.clone(),
            sent: true,
        }),
        Err(e) => internal(e),
    }
}

#[derive(Template)]
#[template(path = "admin/reset.html")]
struct ResetPage {
    csrf: CsrfToken,
    token: String,
    email: String,
    errors: Errors,
}

fn link_gone() -> HttpResponse {
    message(
        StatusCode::GONE,
        "This link can no longer be used",
        "The link has already been used or is more than an hour old. Ask for a new one from the sign-in page.",
    )
}

/// Shows the form only: opening the link changes nothing.
#[get("/reset/{token}")]
pub async fn reset_form(store: Data<Store>, csrf: CsrfToken, token: Path<String>) -> HttpResponse {
    match store
        .find_reset_organiser(&tokens::hash_token(&token), Utc::now())
        .await
    {
        Ok(Some(organiser)) => render(&ResetPage {
            csrf,
            token: token.into_inner(),
            email: organiser.email,
            errors: Errors::default(),
        }),
        Ok(None) => link_gone(),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    password: String,
    password_again: String,
}

#[post("/reset/{token}")]
pub async fn reset(
    req: HttpRequest,
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<ResetForm>,
) -> HttpResponse {
    let hash = tokens::hash_token(&token);
    let organiser = match store.find_reset_organiser(&hash, Utc::now()).await {
        Ok(Some(o)) => o,
        Ok(None) => return link_gone(),
        Err(e) => return internal(e),
    };
    let mut errors = Vec::new();
    crate::domain::check(
        &mut errors,
        "password",
        passwords::check_strength(&form.password, &organiser.email),
    );
    if form.password != form.password_again {
        errors.push(crate::domain::FieldError::new(
            "password_again",
            "the two passwords are not the same",
        ));
    }
    if !errors.is_empty() {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                csrf,
                token: token.into_inner(),
                email: organiser.email,
                errors: Errors(errors),
            },
        );
    }
    let password = form.password.clone();
    let password_hash = match tokio::task::spawn_blocking(move || passwords::hash(&password)).await
    {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return internal(anyhow::anyhow!("hashing failed: {e}")),
        Err(e) => return internal(e),
    };
    // Every session of the account ends here (whoever forgot the password may have left one
    // open somewhere); this browser gets a new one.
    match store
        .reset_password(&hash, &password_hash, Utc::now())
        .await
    {
        Ok(Some(organiser)) => {
            match super::account::start_session(&req, &store, organiser.id).await {
                Ok(cookie) => HttpResponse::SeeOther()
                    .cookie(cookie)
                    .cookie(crate::web::csrf::fresh_cookie(&req))
                    .insert_header(("Location", "/admin"))
                    .finish(),
                Err(e) => internal(e),
            }
        }
        Ok(None) => link_gone(),
        Err(e) => internal(e),
    }
}
