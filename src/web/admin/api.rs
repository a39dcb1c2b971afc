//! The organisers' JSON API for trials. Every route here needs a bearer token (see web::auth).
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Json, Path};
use actix_web::HttpResponse;
use chrono::Utc;

use crate::domain::{TrialInput, TrialSettings};
use crate::store::trials::SaveTrialError;
use crate::store::Store;
use crate::web::errors::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/trials")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/api/v1/trials/{slug}")
            .route(web::get().to(show))
            .route(web::put().to(update)),
    );
}

fn invalid(errors: Vec<crate::domain::FieldError>) -> ApiError {
    let first = errors.into_iter().next().expect("at least one error");
    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, first.field, first.message)
}

fn save_error(e: SaveTrialError) -> ApiError {
    match e {
        SaveTrialError::SlugTaken => ApiError::field(
            StatusCode::CONFLICT,
            "slug",
            "another trial already uses this address",
        ),
        SaveTrialError::NotFound => ApiError::status(StatusCode::NOT_FOUND, "no such trial"),
        SaveTrialError::Store(e) => e.into(),
    }
}

async fn list(store: Data<Store>) -> Result<HttpResponse, ApiError> {
    let trials = store.list_trials().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "trials": trials })))
}

async fn create(store: Data<Store>, body: Json<TrialInput>) -> Result<HttpResponse, ApiError> {
    let settings = TrialSettings::try_from(&*body).map_err(invalid)?;
    let trial = store
        .create_trial(&settings, Utc::now())
        .await
        .map_err(save_error)?;
    Ok(HttpResponse::Created().json(trial))
}

async fn show(store: Data<Store>, slug: Path<String>) -> Result<HttpResponse, ApiError> {
    match store.find_trial(&slug).await? {
        Some(trial) => Ok(HttpResponse::Ok().json(trial)),
        None => Err(ApiError::status(StatusCode::NOT_FOUND, "no such trial")),
    }
}

async fn update(
    store: Data<Store>,
    slug: Path<String>,
    body: Json<TrialInput>,
) -> Result<HttpResponse, ApiError> {
    let settings = TrialSettings::try_from(&*body).map_err(invalid)?;
    let trial = store
        .update_trial(&slug, &settings, Utc::now())
        .await
        .map_err(save_error)?;
    Ok(HttpResponse::Ok().json(trial))
}
