//! Managing organiser accounts (admins only, see `web::access`): the list, disabling and
//! enabling, and who may manage each trial.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Form, Json, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{see_other, Errors};
use crate::app::organisers::{self, AccessError};
use crate::store::organisers::{DisableError, OrganiserSummary};
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::auth::CurrentOrganiser;
use crate::web::csrf::CsrfToken;
use crate::web::dates::filters;
use crate::web::errors::{ApiError, PageError};
use crate::web::pages::render_status;
use crate::web::trial_in_path::{ApiTrialInPath, TrialInPath};

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
) -> Result<HttpResponse, PageError> {
    let organisers = organisers::list(store).await?;
    Ok(render_status(
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
    ))
}

fn no_such_organiser() -> PageError {
    PageError::refused(
        StatusCode::NOT_FOUND,
        "No such organiser",
        "There is no organiser account with this number.",
    )
}

#[get("/organisers")]
pub async fn list(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
) -> Result<HttpResponse, PageError> {
    organisers_view(&store, csrf, &me, None).await
}

#[post("/organisers/{id}/disable")]
pub async fn disable(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
    id: Path<i64>,
) -> Result<HttpResponse, PageError> {
    match organisers::disable(&store, *id, Utc::now()).await {
        // Disabling oneself ends this very session, so the sign-in page is next.
        Ok(()) if *id == me.0.id => Ok(see_other("/admin/login")),
        Ok(()) => Ok(see_other("/admin/organisers")),
        Err(DisableError::Unknown) => Err(no_such_organiser()),
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
        Err(DisableError::Store(e)) => Err(e.into()),
    }
}

#[post("/organisers/{id}/enable")]
pub async fn enable(store: Data<Store>, id: Path<i64>) -> Result<HttpResponse, PageError> {
    if organisers::enable(&store, *id).await? {
        Ok(see_other("/admin/organisers"))
    } else {
        Err(no_such_organiser())
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
    trial: Trial,
    email: String,
    errors: Errors,
) -> Result<HttpResponse, PageError> {
    let granted = organisers::of_trial(store, &trial).await?;
    Ok(render_status(
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
    ))
}

#[get("/trials/{slug}/organisers")]
pub async fn trial_organisers(
    store: Data<Store>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
) -> Result<HttpResponse, PageError> {
    trial_organisers_view(&store, csrf, trial, String::new(), Errors::default()).await
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
    TrialInPath(trial): TrialInPath,
    form: Form<GrantForm>,
) -> Result<HttpResponse, PageError> {
    let grant = match form.action.as_str() {
        "grant" => true,
        "revoke" => false,
        _ => {
            return Err(PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unknown action",
                "Choose whether to give or take away access.",
            ))
        }
    };
    match organisers::change_access(&store, &trial, &form.email, grant, Utc::now()).await {
        Ok(()) => Ok(see_other(&format!(
            "/admin/trials/{}/organisers",
            trial.slug
        ))),
        Err(AccessError::UnknownOrganiser(_)) => {
            trial_organisers_view(
                &store,
                csrf,
                trial,
                form.email.clone(),
                Errors::one("email", "there is no organiser with this email address"),
            )
            .await
        }
        Err(AccessError::Store(e)) => Err(e.into()),
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

/// The email addresses of the organisers (beyond admins) who may manage a trial.
#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct OrganiserList {
    organisers: Vec<String>,
}

/// Who may manage the trial, besides admins.
#[utoipa::path(get, path = "/api/v1/trials/{slug}/organisers", tag = "trials",
    params(crate::web::admin::api::SlugParam),
    responses((status = 200, description = "Their addresses", body = OrganiserList)))]
pub async fn api_list(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(OrganiserList {
        organisers: organisers::of_trial(&store, &trial).await?,
    }))
}

/// Replaces the list of who may manage the trial.
#[utoipa::path(put, path = "/api/v1/trials/{slug}/organisers", tag = "trials",
    params(crate::web::admin::api::SlugParam), request_body = OrganiserList,
    responses(
        (status = 200, description = "The list as saved", body = OrganiserList),
        (status = 422, description = "An address is not an organiser's (`field` is `organisers`)",
            body = crate::web::errors::ErrorBody),
    ))]
pub async fn api_replace(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
    body: Json<OrganiserList>,
) -> Result<HttpResponse, ApiError> {
    match organisers::replace_access(&store, &trial, &body.organisers, Utc::now()).await {
        Ok(organisers) => Ok(HttpResponse::Ok().json(OrganiserList { organisers })),
        Err(e @ AccessError::UnknownOrganiser(_)) => Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "organisers",
            e.to_string(),
        )),
        Err(AccessError::Store(e)) => Err(e.into()),
    }
}
