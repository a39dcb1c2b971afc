//! "Forgot your password?": a one-time link by email, and the page behind it.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::Errors;
use crate::app::accounts;
use crate::app::recovery::{self, ResetError};
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{render, render_status};
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
) -> Result<HttpResponse, PageError> {
    // The page says the same whether or not the address has an account, so that it cannot be
    // used to find out who organises; only the mailbox's owner learns the difference.
    accounts::request_password_reset(&store, &web_settings.base_url, &form.email, true)
        .await
        .map_err(PageError::unexpected)?;
    Ok(render(&ForgotPage {
        csrf,
        email: form.email.clone(),
        sent: true,
    }))
}

#[derive(Template)]
#[template(path = "admin/reset.html")]
struct ResetPage {
    csrf: CsrfToken,
    token: String,
    email: String,
    errors: Errors,
}

fn link_gone() -> PageError {
    PageError::refused(
        StatusCode::GONE,
        "This link can no longer be used",
        "The link has already been used or is more than an hour old. Ask for a new one from the sign-in page.",
    )
}

/// Shows the form only: opening the link changes nothing.
#[get("/reset/{token}")]
pub async fn reset_form(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    let organiser = recovery::account_for_link(&store, &token, Utc::now())
        .await?
        .ok_or_else(link_gone)?;
    Ok(render(&ResetPage {
        csrf,
        token: token.into_inner(),
        email: organiser.email,
        errors: Errors::default(),
    }))
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
) -> Result<HttpResponse, PageError> {
    match recovery::reset_password(
        &store,
        &token,
        &form.password,
        &form.password_again,
        Utc::now(),
    )
    .await
    {
        // Every session of the account has ended; this browser gets a new one.
        Ok(organiser) => {
            let cookie = super::account::start_session(&req, &store, organiser.id).await?;
            Ok(HttpResponse::SeeOther()
                .cookie(cookie)
                .cookie(crate::web::csrf::fresh_cookie(&req))
                .insert_header(("Location", "/admin"))
                .finish())
        }
        Err(ResetError::LinkUnusable) => Err(link_gone()),
        Err(ResetError::Invalid { errors, email }) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                csrf,
                token: token.into_inner(),
                email,
                errors: Errors(errors),
            },
        )),
        Err(e) => Err(PageError::unexpected(e)),
    }
}
