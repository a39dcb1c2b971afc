//! The organisers' JSON API for trials. Every route here needs a bearer token (see web::auth).
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Json, Path};
use actix_web::HttpResponse;
use chrono::Utc;

use crate::domain::{RoundSettings, RoundSettingsInput, TrialInput, TrialSettings};
use crate::store::trials::{SaveTrialError, Trial};
use crate::store::Store;
use crate::web::auth::CurrentOrganiser;
use crate::web::errors::ApiError;
use crate::web::trial_in_path::ApiTrialInPath;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/trials")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/trials/{slug}")
            .route(web::get().to(show))
            .route(web::put().to(update)),
    );
    rounds_api::routes(cfg);
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

/// A trial as the API shows it: its columns, its round settings, and the next three scheduled
/// runs (RFC 3339).
#[derive(serde::Serialize)]
struct TrialJson {
    #[serde(flatten)]
    trial: Trial,
    #[serde(flatten)]
    rounds: RoundSettingsInput,
    next_runs: Vec<String>,
}

fn trial_json(trial: Trial, rounds: &RoundSettings) -> TrialJson {
    let next_runs = trial
        .next_runs(Utc::now(), 3)
        .into_iter()
        .map(|t| t.to_rfc3339())
        .collect();
    TrialJson {
        trial,
        rounds: rounds.to_input(),
        next_runs,
    }
}

/// The body of a create or update: the trial's settings and its round settings side by side.
#[derive(serde::Deserialize)]
struct TrialBody {
    #[serde(flatten)]
    trial: TrialInput,
    #[serde(flatten)]
    rounds: RoundSettingsInput,
}

fn check_body(body: &TrialBody) -> Result<(TrialSettings, RoundSettings), ApiError> {
    let settings = TrialSettings::try_from(&body.trial).map_err(invalid)?;
    let rounds = RoundSettings::try_from(&body.rounds).map_err(invalid)?;
    Ok((settings, rounds))
}

async fn list(store: Data<Store>, me: CurrentOrganiser) -> Result<HttpResponse, ApiError> {
    let trials = crate::web::access::visible_trials(&store, &me.0).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "trials": trials })))
}

async fn create(
    store: Data<Store>,
    me: CurrentOrganiser,
    body: Json<TrialBody>,
) -> Result<HttpResponse, ApiError> {
    let (settings, rounds) = check_body(&body)?;
    let trial = store
        .create_trial_for(&me.0, &settings, Utc::now())
        .await
        .map_err(save_error)?;
    store.save_round_settings(trial.id, &rounds).await?;
    Ok(HttpResponse::Created().json(trial_json(trial, &rounds)))
}

async fn show(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
) -> Result<HttpResponse, ApiError> {
    let rounds = store.round_settings(trial.id).await?;
    Ok(HttpResponse::Ok().json(trial_json(trial, &rounds)))
}

async fn update(
    store: Data<Store>,
    slug: Path<String>,
    body: Json<TrialBody>,
) -> Result<HttpResponse, ApiError> {
    let (settings, rounds) = check_body(&body)?;
    let trial = store
        .update_trial(&slug, &settings, Utc::now())
        .await
        .map_err(save_error)?;
    store.save_round_settings(trial.id, &rounds).await?;
    Ok(HttpResponse::Ok().json(trial_json(trial, &rounds)))
}

/// Rounds through the API: propose, look, reshuffle, swap, publish.
pub mod rounds_api {
    use actix_web::http::StatusCode;
    use actix_web::web::{self, Data, Json, Path};
    use actix_web::HttpResponse;
    use chrono::Utc;

    use crate::app::rounds::{self, RoundError};
    use crate::store::trials::Trial;
    use crate::store::Store;
    use crate::web::errors::ApiError;
    use crate::web::trial_in_path::ApiTrialInPath;
    use crate::web::WebSettings;

    pub fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/trials/{slug}/rounds", web::get().to(list))
            .route("/trials/{slug}/rounds", web::post().to(start))
            .route("/trials/{slug}/rounds/{number}", web::get().to(show))
            .route(
                "/trials/{slug}/rounds/{number}/reshuffle",
                web::post().to(reshuffle),
            )
            .route("/trials/{slug}/rounds/{number}/swap", web::post().to(swap))
            .route(
                "/trials/{slug}/rounds/{number}/publish",
                web::post().to(publish),
            );
    }

    impl From<RoundError> for ApiError {
        fn from(e: RoundError) -> Self {
            match e {
                RoundError::NotFound => {
                    ApiError::status(StatusCode::NOT_FOUND, "no such trial or round")
                }
                RoundError::Published => ApiError::status(StatusCode::CONFLICT, e.to_string()),
                RoundError::Invalid(m) => ApiError::status(StatusCode::UNPROCESSABLE_ENTITY, m),
                RoundError::Refused { field, message } => {
                    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message)
                }
                // Send the swap again with "confirm": true to go ahead.
                RoundError::NeedsConfirmation(warnings) => {
                    ApiError::field(StatusCode::CONFLICT, "confirm", warnings.join("; "))
                }
                other => ApiError::Unexpected(other.into()),
            }
        }
    }

    async fn round_id(store: &Store, trial: &Trial, number: i64) -> Result<i64, ApiError> {
        Ok(store
            .find_round_by_number(trial.id, number)
            .await?
            .ok_or(RoundError::NotFound)?
            .id)
    }

    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    pub struct SeedBody {
        seed: Option<u64>,
    }

    /// The round number in `/trials/{slug}/rounds/{number}`; the trial comes from
    /// [`ApiTrialInPath`].
    type RoundPath = Path<(String, i64)>;

    async fn list(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
    ) -> Result<HttpResponse, ApiError> {
        let rounds = store.list_rounds(trial.id).await?;
        Ok(HttpResponse::Ok().json(serde_json::json!({ "rounds": rounds })))
    }

    async fn start(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
        body: Option<Json<SeedBody>>,
    ) -> Result<HttpResponse, ApiError> {
        let seed = body.and_then(|b| b.seed).unwrap_or_else(rand::random);
        let view = rounds::propose(&store, &trial, "manual", None, seed, Utc::now())
            .await?
            .ok_or_else(|| {
                ApiError::status(StatusCode::CONFLICT, "a round already exists for this slot")
            })?;
        Ok(HttpResponse::Created().json(view))
    }

    async fn show(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
        path: RoundPath,
    ) -> Result<HttpResponse, ApiError> {
        let round = store
            .find_round_by_number(trial.id, path.1)
            .await?
            .ok_or(RoundError::NotFound)?;
        Ok(HttpResponse::Ok().json(rounds::view(&store, &trial, round, Utc::now()).await?))
    }

    async fn reshuffle(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
        path: RoundPath,
        body: Option<Json<SeedBody>>,
    ) -> Result<HttpResponse, ApiError> {
        let id = round_id(&store, &trial, path.1).await?;
        let seed = body.and_then(|b| b.seed).unwrap_or_else(rand::random);
        Ok(HttpResponse::Ok().json(rounds::reshuffle(&store, &trial, id, seed, Utc::now()).await?))
    }

    #[derive(serde::Deserialize)]
    pub struct SwapBody {
        a: String,
        b: String,
        /// Go ahead despite the warnings (a group that cannot meet, or a repeat).
        #[serde(default)]
        confirm: bool,
    }

    async fn swap(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
        path: RoundPath,
        body: Json<SwapBody>,
    ) -> Result<HttpResponse, ApiError> {
        let id = round_id(&store, &trial, path.1).await?;
        Ok(HttpResponse::Ok().json(
            rounds::swap(
                &store,
                &trial,
                id,
                &body.a,
                &body.b,
                body.confirm,
                Utc::now(),
            )
            .await?,
        ))
    }

    async fn publish(
        store: Data<Store>,
        web_settings: Data<WebSettings>,
        ApiTrialInPath(trial): ApiTrialInPath,
        path: RoundPath,
    ) -> Result<HttpResponse, ApiError> {
        let id = round_id(&store, &trial, path.1).await?;
        let organiser = web_settings.organiser();
        let base_url = &web_settings.base_url;
        Ok(HttpResponse::Ok().json(
            rounds::publish_from(&store, &trial, id, base_url, &organiser, Utc::now()).await?,
        ))
    }
}
