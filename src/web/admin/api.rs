//! The organisers' JSON API for trials. Every route here needs a bearer token (see web::auth).
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Json, Path};
use actix_web::HttpResponse;
use chrono::Utc;

use crate::domain::{RoundSettings, RoundSettingsInput, TrialInput, TrialSettings};
use crate::store::time::to_db;
use crate::store::trials::{SaveTrialError, Trial, TrialSummary};
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

/// A trial as the API shows it: its settings, its times as stored (RFC 3339 UTC text) and the
/// next three scheduled runs (RFC 3339). Field names and order are the API's contract.
#[derive(serde::Serialize)]
pub struct TrialResponse {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub kind: &'static str,
    pub attribute_name: String,
    pub attribute_values: String,
    pub group_size: i64,
    pub open_for_signup: bool,
    pub time_zone: String,
    pub schedule: Option<String>,
    pub auto_publish: bool,
    pub notice_hours: i64,
    pub feedback_delay_days: i64,
    pub event_date: Option<String>,
    pub event_place: Option<String>,
    pub event_planned_rounds: Option<i64>,
    pub event_round_minutes: Option<i64>,
    pub schedule_since: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub next_runs: Vec<String>,
}

impl From<&Trial> for TrialResponse {
    fn from(t: &Trial) -> Self {
        TrialResponse {
            id: t.id,
            slug: t.slug.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            kind: t.kind.as_str(),
            attribute_name: t.attribute_name.clone(),
            attribute_values: t.attribute_values.clone(),
            group_size: t.group_size,
            open_for_signup: t.open_for_signup,
            time_zone: t.time_zone.clone(),
            schedule: t.schedule.clone(),
            auto_publish: t.auto_publish,
            notice_hours: t.notice_hours,
            feedback_delay_days: t.feedback_delay_days,
            event_date: t.event_date.clone(),
            event_place: t.event_place.clone(),
            event_planned_rounds: t.event_planned_rounds,
            event_round_minutes: t.event_round_minutes,
            schedule_since: t.schedule_since.map(to_db),
            created_at: to_db(t.created_at),
            updated_at: to_db(t.updated_at),
            next_runs: t
                .next_runs(Utc::now(), 3)
                .into_iter()
                .map(|t| t.to_rfc3339())
                .collect(),
        }
    }
}

/// One line of the trial list.
#[derive(serde::Serialize)]
pub struct TrialSummaryResponse {
    pub slug: String,
    pub name: String,
    pub kind: &'static str,
    pub open_for_signup: bool,
    pub participants: i64,
    pub rounds: i64,
}

impl From<&TrialSummary> for TrialSummaryResponse {
    fn from(t: &TrialSummary) -> Self {
        TrialSummaryResponse {
            slug: t.slug.clone(),
            name: t.name.clone(),
            kind: t.kind.as_str(),
            open_for_signup: t.open_for_signup,
            participants: t.participants,
            rounds: t.rounds,
        }
    }
}

/// The trial and its round settings side by side, as one JSON object.
#[derive(serde::Serialize)]
struct TrialJson {
    #[serde(flatten)]
    trial: TrialResponse,
    #[serde(flatten)]
    rounds: RoundSettingsInput,
}

fn trial_json(trial: Trial, rounds: &RoundSettings) -> TrialJson {
    TrialJson {
        trial: TrialResponse::from(&trial),
        rounds: rounds.to_input(),
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
    let trials = crate::app::trials::visible_to(&store, &me.0).await?;
    let trials: Vec<TrialSummaryResponse> = trials.iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "trials": trials })))
}

async fn create(
    store: Data<Store>,
    me: CurrentOrganiser,
    body: Json<TrialBody>,
) -> Result<HttpResponse, ApiError> {
    let (settings, rounds) = check_body(&body)?;
    let trial = crate::app::trials::save(&store, &me.0, None, &settings, Utc::now())
        .await
        .map_err(save_error)?;
    crate::app::trials::save_round_settings(&store, trial.id, &rounds).await?;
    Ok(HttpResponse::Created().json(trial_json(trial, &rounds)))
}

async fn show(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
) -> Result<HttpResponse, ApiError> {
    let rounds = crate::app::trials::round_settings(&store, trial.id).await?;
    Ok(HttpResponse::Ok().json(trial_json(trial, &rounds)))
}

async fn update(
    store: Data<Store>,
    me: CurrentOrganiser,
    slug: Path<String>,
    body: Json<TrialBody>,
) -> Result<HttpResponse, ApiError> {
    let (settings, rounds) = check_body(&body)?;
    let trial = crate::app::trials::save(&store, &me.0, Some(&slug), &settings, Utc::now())
        .await
        .map_err(save_error)?;
    crate::app::trials::save_round_settings(&store, trial.id, &rounds).await?;
    Ok(HttpResponse::Ok().json(trial_json(trial, &rounds)))
}

/// Rounds through the API: propose, look, reshuffle, swap, publish.
pub mod rounds_api {
    use actix_web::http::StatusCode;
    use actix_web::web::{self, Data, Json, Path};
    use actix_web::HttpResponse;
    use chrono::Utc;

    use crate::app::rounds::{self, RoundError, RoundView, UnplacedView};
    use crate::domain::RoundKind;
    use crate::store::rounds::{GroupMember, Round};
    use crate::store::time::to_db;
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

    /// A round as the API shows it; times as stored (RFC 3339 UTC text).
    #[derive(serde::Serialize)]
    pub struct RoundResponse {
        pub id: i64,
        pub trial_id: i64,
        pub number: i64,
        pub kind: &'static str,
        pub state: &'static str,
        pub seed: String,
        pub slot: Option<String>,
        pub created_at: String,
        pub published_at: Option<String>,
    }

    impl From<&Round> for RoundResponse {
        fn from(r: &Round) -> Self {
            RoundResponse {
                id: r.id,
                trial_id: r.trial_id,
                number: r.number,
                kind: r.kind.as_str(),
                state: r.state.as_str(),
                seed: r.seed.clone(),
                slot: r.slot.map(to_db),
                created_at: to_db(r.created_at),
                published_at: r.published_at.map(to_db),
            }
        }
    }

    /// A round with its groups and the people the engine could not place.
    #[derive(serde::Serialize)]
    pub struct RoundViewResponse<'a> {
        pub round: RoundResponse,
        pub groups: Vec<GroupResponse<'a>>,
        pub unplaced: &'a [UnplacedView],
    }

    #[derive(serde::Serialize)]
    pub struct GroupResponse<'a> {
        pub position: i64,
        pub reason: &'a str,
        pub table_label: Option<&'a str>,
        pub members: Vec<GroupMemberResponse<'a>>,
        pub how_to_meet: &'a crate::matching::meet::HowToMeet,
        pub how_to_meet_label: &'a str,
        pub do_not_pair_conflicts: &'a [String],
        pub first_mover: Option<i64>,
    }

    /// One member of a group, as organisers see them.
    #[derive(serde::Serialize)]
    pub struct GroupMemberResponse<'a> {
        pub group_id: i64,
        pub position: i64,
        pub reason: &'a str,
        pub table_label: Option<&'a str>,
        pub membership_id: i64,
        pub public_id: &'a str,
        pub participant_id: i64,
        pub name: &'a str,
        pub email: Option<&'a str>,
        pub attribute_value: &'a str,
        pub role: &'a str,
        pub site: &'a str,
        pub meeting_modes: &'a str,
        pub introduction: &'a str,
        pub skip_next_round: i64,
    }

    impl<'a> From<&'a GroupMember> for GroupMemberResponse<'a> {
        fn from(m: &'a GroupMember) -> Self {
            GroupMemberResponse {
                group_id: m.group_id,
                position: m.position,
                reason: &m.reason,
                table_label: m.table_label.as_deref(),
                membership_id: m.membership_id,
                public_id: &m.public_id,
                participant_id: m.participant_id,
                name: &m.name,
                email: m.email.as_deref(),
                attribute_value: &m.attribute_value,
                role: &m.role,
                site: &m.site,
                meeting_modes: &m.meeting_modes,
                introduction: &m.introduction,
                skip_next_round: i64::from(m.skip_next_round),
            }
        }
    }

    impl<'a> From<&'a RoundView> for RoundViewResponse<'a> {
        fn from(v: &'a RoundView) -> Self {
            RoundViewResponse {
                round: RoundResponse::from(&v.round),
                groups: v
                    .groups
                    .iter()
                    .map(|g| GroupResponse {
                        position: g.position,
                        reason: &g.reason,
                        table_label: g.table_label.as_deref(),
                        members: g.members.iter().map(Into::into).collect(),
                        how_to_meet: &g.how_to_meet,
                        how_to_meet_label: &g.how_to_meet_label,
                        do_not_pair_conflicts: &g.do_not_pair_conflicts,
                        first_mover: g.first_mover,
                    })
                    .collect(),
                unplaced: &v.unplaced,
            }
        }
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
        Ok(rounds::find_by_number(store, trial, number)
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
        let rounds = crate::app::trials::rounds(&store, trial.id).await?;
        let rounds: Vec<RoundResponse> = rounds.iter().map(Into::into).collect();
        Ok(HttpResponse::Ok().json(serde_json::json!({ "rounds": rounds })))
    }

    async fn start(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
        body: Option<Json<SeedBody>>,
    ) -> Result<HttpResponse, ApiError> {
        let seed = body.and_then(|b| b.seed).unwrap_or_else(rand::random);
        let view = rounds::propose(&store, &trial, RoundKind::Manual, None, seed, Utc::now())
            .await?
            .ok_or_else(|| {
                ApiError::status(StatusCode::CONFLICT, "a round already exists for this slot")
            })?;
        Ok(HttpResponse::Created().json(RoundViewResponse::from(&view)))
    }

    async fn show(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
        path: RoundPath,
    ) -> Result<HttpResponse, ApiError> {
        let round = rounds::find_by_number(&store, &trial, path.1)
            .await?
            .ok_or(RoundError::NotFound)?;
        let view = rounds::view(&store, &trial, round, Utc::now()).await?;
        Ok(HttpResponse::Ok().json(RoundViewResponse::from(&view)))
    }

    async fn reshuffle(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
        path: RoundPath,
        body: Option<Json<SeedBody>>,
    ) -> Result<HttpResponse, ApiError> {
        let id = round_id(&store, &trial, path.1).await?;
        let seed = body.and_then(|b| b.seed).unwrap_or_else(rand::random);
        let view = rounds::reshuffle(&store, &trial, id, seed, Utc::now()).await?;
        Ok(HttpResponse::Ok().json(RoundViewResponse::from(&view)))
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
        let view = rounds::swap(
            &store,
            &trial,
            id,
            &body.a,
            &body.b,
            body.confirm,
            Utc::now(),
        )
        .await?;
        Ok(HttpResponse::Ok().json(RoundViewResponse::from(&view)))
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
