//! Managing organiser accounts (admins only, see `web::access`): the list, disabling and
//! enabling, and who may manage each trial.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Form, Json, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{see_other, Errors};
use crate::store::organisers::{DisableError, OrganiserSummary};
use crate::store::Store;
use crate::web::auth::CurrentOrganiser;
use crate::web::csrf::CsrfToken;
use crate::web::errors::ApiError;
use crate::web::pages::internal_error as internal;
use crate::web::pages::{message, render_status};

#[derive(Template)]
#[template(path = "admin/organisers.html")]
struct OrganisersPage {
    csrf: CsrfToken,
    me: i64,
    organisers: Vec<OrganiserSummary>,
    error: Option<String>,
}

async fn organisers_view(
    store: &Store,
    csrf: CsrfToken,
    me: &CurrentOrganiser,
    error: Option<String>,
) -> HttpResponse {
    match store.list_organisers().await {
        Ok(organisers) => render_status(
            if error.is_some() {
                StatusCode::CONFLICT
            } else {
                StatusCode::OK
            },
            &OrganisersPage {
                csrf,
                me: me.0.id,
                organisers,
                error,
            },
        ),
        Err(e) => internal(e),
    }
}

#[get("/organisers")]
pub async fn list(store: Data<Store>, csrf: CsrfToken, me: CurrentOrganiser) -> HttpResponse {
    organisers_view(&store, csrf, &me, None).await
}

#[post("/organisers/{id}/disable")]
pub async fn disable(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
    id: Path<i64>,
) -> HttpResponse {
    match store.disable_organiser(*id, Utc::now()).await {
        // Disabling oneself ends this very session, so the sign-in page is next.
        Ok(()) if *id == me.0.id => see_other("/admin/login"),
        Ok(()) => see_other("/admin/organisers"),
        Err(DisableError::Unknown) => message(
            StatusCode::NOT_FOUND,
            "No such organiser",
            "There is no organiser account with this number.",
        ),
        Err(DisableError::LastAdmin) => {
            organisers_view(
                &store,
                csrf,
                &me,
                Some(
                    "This is the last enabled admin account. Make someone else an admin first, so that somebody can still manage the accounts."
                        .into(),
                ),
            )
            .await
        }
        Err(DisableError::Store(e)) => internal(e),
    }
}

#[post("/organisers/{id}/enable")]
pub async fn enable(store: Data<Store>, id: Path<i64>) -> HttpResponse {
    match store.enable_organiser(*id).await {
        Ok(true) => see_other("/admin/organisers"),
        Ok(false) => message(
            StatusCode::NOT_FOUND,
            "No such organiser",
            "There is no organiser account with this number.",
        ),
        Err(e) => internal(e),
    }
}

#[derive(Template)]
#[template(path = "admin/trial_organisers.html")]
struct TrialOrganisersPage {
    csrf: CsrfToken,
    slug: String,
    trial_name: String,
    granted: Vec<String>,
    email: String,
    errors: Errors,
}

async fn trial_organisers_view(
    store: &Store,
    csrf: CsrfToken,
    slug: &str,
    email: String,
    errors: Errors,
) -> HttpResponse {
    let trial = match store.find_trial(slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return crate::web::access::Denied::NoSuchTrial.page(),
        Err(e) => return internal(e),
    };
    match store.trial_organisers(trial.id).await {
        Ok(granted) => render_status(
            if errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            &TrialOrganisersPage {
                csrf,
                slug: trial.slug,
                trial_name: trial.name,
                granted,
                email,
                errors,
            },
        ),
        Err(e) => internal(e),
    }
}

#[get("/trials/{slug}/organisers")]
pub async fn trial_organisers(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
) -> HttpResponse {
    trial_organisers_view(&store, csrf, &slug, String::new(), Errors::default()).await
}

#[derive(Deserialize)]
pub struct GrantForm {
    email: String,
    /// "grant" or "revoke".
    action: String,
}

#[post("/trials/{slug}/organisers")]
pub async fn change_trial_organisers(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
    form: Form<GrantForm>,
) -> HttpResponse {
    let trial = match store.find_trial(&slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return crate::web::access::Denied::NoSuchTrial.page(),
        Err(e) => return internal(e),
    };
    let organiser = match store.find_organiser_summary(&form.email).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return trial_organisers_view(
                &store,
                csrf,
                &slug,
                form.email.clone(),
                Errors::one("email", "there is no organiser with this email address"),
            )
            .await
        }
        Err(e) => return internal(e),
    };
    let done = match form.action.as_str() {
        "grant" => store.grant_trial(trial.id, organiser.id, Utc::now()).await,
        "revoke" => store.revoke_trial(trial.id, organiser.id).await,
        _ => {
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unknown action",
                "Choose whether to give or take away access.",
            )
        }
    };
    match done {
        Ok(()) => see_other(&format!("/admin/trials/{}/organisers", trial.slug)),
        Err(e) => internal(e),
    }
}

/// `GET` and `PUT /api/v1/trials/{slug}/organisers`: the organisers (beyond admins) who may
/// manage the trial, as a list of email addresses; PUT replaces the list.
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/trials/{slug}/organisers")
            .route(web::get().to(api_list))
            .route(web::put().to(api_replace)),
    );
}

#[derive(Deserialize, serde::Serialize)]
pub struct OrganiserList {
    organisers: Vec<String>,
}

async fn api_list(store: Data<Store>, slug: Path<String>) -> Result<HttpResponse, ApiError> {
    let trial = store
        .find_trial(&slug)
        .await?
        .ok_or_else(|| ApiError::field(StatusCode::NOT_FOUND, "slug", "no such trial"))?;
    Ok(HttpResponse::Ok().json(OrganiserList {
        organisers: store.trial_organisers(trial.id).await?,
    }))
}

async fn api_replace(
    store: Data<Store>,
    slug: Path<String>,
    body: Json<OrganiserList>,
) -> Result<HttpResponse, ApiError> {
    let trial = store
        .find_trial(&slug)
        .await?
        .ok_or_else(|| ApiError::field(StatusCode::NOT_FOUND, "slug", "no such trial"))?;
    // Every address must be an organiser before anything changes.
    let mut wanted = Vec::new();
    for email in &body.organisers {
        match store.find_organiser_summary(email).await? {
            Some(o) => wanted.push(o.id),
            None => {
                return Err(ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "organisers",
                    format!("there is no organiser with the address {}", email.trim()),
                ))
            }
        }
    }
    store
        .replace_trial_organisers(trial.id, &wanted, Utc::now())
        .await?;
    Ok(HttpResponse::Ok().json(OrganiserList {
        organisers: store.trial_organisers(trial.id).await?,
    }))
}
