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
use crate::web::errors::{ApiError, ErrorBody};
use crate::web::trial_in_path::ApiTrialInPath;

/// The `{slug}` of every organiser route under `/api/v1/trials/{slug}`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SlugParam {
    /// The trial's short address, as in `/t/{slug}`.
    pub slug: String,
}

/// `/api/v1/trials/{slug}/rounds/{number}`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RoundParams {
    /// The trial's short address.
    pub slug: String,
    /// The round's number in its trial, from 1.
    pub number: i64,
}

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
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TrialResponse {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// `programme` or `event`.
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
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TrialSummaryResponse {
    pub slug: String,
    pub name: String,
    /// `programme` or `event`.
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

/// Every trial the token's organiser may manage.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TrialList {
    pub trials: Vec<TrialSummaryResponse>,
}

/// The trial and its round settings side by side, as one JSON object.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TrialJson {
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
/// A field left out takes its default (so a `PUT` that leaves one out resets it).
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct TrialBody {
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

/// The trials this organiser may manage.
#[utoipa::path(get, path = "/api/v1/trials", tag = "trials",
    responses((status = 200, description = "The trials", body = TrialList)))]
pub async fn list(store: Data<Store>, me: CurrentOrganiser) -> Result<HttpResponse, ApiError> {
    let trials = crate::app::trials::visible_to(&store, &me.0).await?;
    let trials = trials.iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(TrialList { trials }))
}

/// Creates a trial.
#[utoipa::path(post, path = "/api/v1/trials", tag = "trials", request_body = TrialBody,
    responses(
        (status = 201, description = "The new trial", body = TrialJson),
        (status = 409, description = "Another trial has this slug (`field` is `slug`)", body = ErrorBody),
        (status = 422, description = "A setting is refused (`field` names it)", body = ErrorBody),
    ))]
pub async fn create(
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

/// One trial with its round settings.
#[utoipa::path(get, path = "/api/v1/trials/{slug}", tag = "trials", params(SlugParam),
    responses((status = 200, description = "The trial", body = TrialJson)))]
pub async fn show(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
) -> Result<HttpResponse, ApiError> {
    let rounds = crate::app::trials::round_settings(&store, trial.id).await?;
    Ok(HttpResponse::Ok().json(trial_json(trial, &rounds)))
}

/// Replaces a trial's settings (fields left out take their defaults).
#[utoipa::path(put, path = "/api/v1/trials/{slug}", tag = "trials", params(SlugParam),
    request_body = TrialBody,
    responses(
        (status = 200, description = "The trial as saved", body = TrialJson),
        (status = 409, description = "Another trial has this slug (`field` is `slug`)", body = ErrorBody),
        (status = 422, description = "A setting is refused (`field` names it)", body = ErrorBody),
    ))]
pub async fn update(
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

    use super::{RoundParams, SlugParam};
    use crate::app::rounds::{self, Published, RoundError, RoundView, UnplacedView};
    use crate::domain::RoundKind;
    use crate::matching::meet::{HowToMeet, Way};
    use crate::store::rounds::{GroupMember, Round};
    use crate::store::time::to_db;
    use crate::store::trials::Trial;
    use crate::store::Store;
    use crate::web::errors::{ApiError, ErrorBody};
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
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct RoundResponse {
        pub id: i64,
        pub trial_id: i64,
        pub number: i64,
        /// `manual`, `scheduled` or `event`.
        pub kind: &'static str,
        /// `draft` or `published`.
        pub state: &'static str,
        /// The seed the groups were drawn with, as digits (it may not fit a JSON number).
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

    /// Every round of the trial, newest first.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct RoundList {
        pub rounds: Vec<RoundResponse>,
    }

    /// A round with its groups and the people the engine could not place.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct RoundViewResponse<'a> {
        pub round: RoundResponse,
        pub groups: Vec<GroupResponse<'a>>,
        pub unplaced: Vec<UnplacedResponse<'a>>,
    }

    /// Someone the engine could not place in a group, and why.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct UnplacedResponse<'a> {
        pub public_id: &'a str,
        pub why: &'a str,
    }

    impl<'a> From<&'a UnplacedView> for UnplacedResponse<'a> {
        fn from(u: &'a UnplacedView) -> Self {
            UnplacedResponse {
                public_id: &u.public_id,
                why: &u.why,
            }
        }
    }

    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct GroupResponse<'a> {
        pub position: i64,
        pub reason: &'a str,
        pub table_label: Option<&'a str>,
        pub members: Vec<GroupMemberResponse<'a>>,
        pub how_to_meet: HowToMeetResponse<'a>,
        pub how_to_meet_label: &'a str,
        /// Pairs in the group of whom one asked never to be paired with the other, by name.
        pub do_not_pair_conflicts: &'a [String],
        /// The membership id of who makes the first move, once published.
        pub first_mover: Option<i64>,
    }

    /// How a group can meet (the ways all share, and the site for in person), or why not.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    #[serde(tag = "can_meet", rename_all = "snake_case")]
    pub enum HowToMeetResponse<'a> {
        Yes {
            ways: Vec<WayResponse>,
            site: Option<&'a str>,
        },
        No {
            reason: &'a str,
        },
    }

    /// One way of meeting.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum WayResponse {
        InPerson,
        Video,
        Phone,
    }

    impl From<&Way> for WayResponse {
        fn from(way: &Way) -> Self {
            match way {
                Way::InPerson => WayResponse::InPerson,
                Way::Video => WayResponse::Video,
                Way::Phone => WayResponse::Phone,
            }
        }
    }

    impl<'a> From<&'a HowToMeet> for HowToMeetResponse<'a> {
        fn from(h: &'a HowToMeet) -> Self {
            match h {
                HowToMeet::Yes { ways, site } => HowToMeetResponse::Yes {
                    ways: ways.iter().map(Into::into).collect(),
                    site: site.as_deref(),
                },
                HowToMeet::No { reason } => HowToMeetResponse::No { reason },
            }
        }
    }

    /// What publishing did.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct PublishResponse {
        /// False when the round had been published before: nothing was done this time.
        pub newly_published: bool,
        /// Pairing emails written to the outbox by this call.
        pub emails_queued: usize,
    }

    impl From<Published> for PublishResponse {
        fn from(p: Published) -> Self {
            PublishResponse {
                newly_published: p.newly_published,
                emails_queued: p.emails_queued,
            }
        }
    }

    /// One member of a group, as organisers see them.
    #[derive(serde::Serialize, utoipa::ToSchema)]
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
                        how_to_meet: (&g.how_to_meet).into(),
                        how_to_meet_label: &g.how_to_meet_label,
                        do_not_pair_conflicts: &g.do_not_pair_conflicts,
                        first_mover: g.first_mover,
                    })
                    .collect(),
                unplaced: v.unplaced.iter().map(Into::into).collect(),
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

    /// The optional body of proposing and reshuffling.
    #[derive(serde::Deserialize, Default, utoipa::ToSchema)]
    #[serde(default)]
    pub struct SeedBody {
        /// Draw the groups with this seed (a number, or digits as text, as rounds show it);
        /// a random one when left out.
        #[serde(deserialize_with = "seed_number_or_text")]
        #[schema(value_type = Option<SeedValue>)]
        seed: Option<u64>,
    }

    /// A seed as JSON may carry it: a number, or digits as text (how rounds show it, since
    /// seeds may not fit a JSON number exactly).
    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[serde(untagged)]
    pub enum SeedValue {
        Number(u64),
        Text(String),
    }

    fn seed_number_or_text<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<u64>, D::Error> {
        match <Option<SeedValue> as serde::Deserialize>::deserialize(d)? {
            None => Ok(None),
            Some(SeedValue::Number(n)) => Ok(Some(n)),
            Some(SeedValue::Text(t)) => t
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom("seed is a whole number from 0")),
        }
    }

    /// The round number in `/trials/{slug}/rounds/{number}`; the trial comes from
    /// [`ApiTrialInPath`].
    type RoundPath = Path<(String, i64)>;

    /// The trial's rounds, newest first.
    #[utoipa::path(get, path = "/api/v1/trials/{slug}/rounds", tag = "rounds", params(SlugParam),
        responses((status = 200, description = "The rounds", body = RoundList)))]
    pub async fn list(
        store: Data<Store>,
        ApiTrialInPath(trial): ApiTrialInPath,
    ) -> Result<HttpResponse, ApiError> {
        let rounds = crate::app::trials::rounds(&store, trial.id).await?;
        let rounds = rounds.iter().map(Into::into).collect();
        Ok(HttpResponse::Ok().json(RoundList { rounds }))
    }

    /// Proposes a draft round, or returns the draft already waiting.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/rounds", tag = "rounds", params(SlugParam),
        request_body(content = Option<SeedBody>, description = "Optional"),
        responses(
            (status = 201, description = "The draft with its groups", body = RoundViewResponse),
            (status = 409, description = "A round already exists for this slot", body = ErrorBody),
            (status = 422, description = "The round cannot be drawn", body = ErrorBody),
        ))]
    pub async fn start(
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

    /// One round with its groups.
    #[utoipa::path(get, path = "/api/v1/trials/{slug}/rounds/{number}", tag = "rounds",
        params(RoundParams),
        responses(
            (status = 200, description = "The round", body = RoundViewResponse),
            (status = 404, description = "No such trial or round", body = ErrorBody),
        ))]
    pub async fn show(
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

    /// Draws the draft's groups again, with a new (or the given) seed.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/rounds/{number}/reshuffle", tag = "rounds",
        params(RoundParams),
        request_body(content = Option<SeedBody>, description = "Optional"),
        responses(
            (status = 200, description = "The draft with its new groups", body = RoundViewResponse),
            (status = 404, description = "No such trial or round", body = ErrorBody),
            (status = 409, description = "The round is published", body = ErrorBody),
            (status = 422, description = "The round cannot be drawn", body = ErrorBody),
        ))]
    pub async fn reshuffle(
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

    #[derive(serde::Deserialize, utoipa::ToSchema)]
    pub struct SwapBody {
        /// The `public_id` of one person in the draft.
        a: String,
        /// The `public_id` of someone in another group.
        b: String,
        /// Go ahead despite the warnings (a group that cannot meet, or a repeat).
        #[serde(default)]
        confirm: bool,
    }

    /// Exchanges two people of different groups in a draft.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/rounds/{number}/swap", tag = "rounds",
        params(RoundParams), request_body = SwapBody,
        responses(
            (status = 200, description = "The draft after the swap", body = RoundViewResponse),
            (status = 404, description = "No such trial or round", body = ErrorBody),
            (status = 409, description = "Published, or warnings to confirm (`field` is `confirm`): send again with `\"confirm\": true`", body = ErrorBody),
            (status = 422, description = "The swap is refused (`field` is `a` or `b`)", body = ErrorBody),
        ))]
    pub async fn swap(
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

    /// Publishes a draft and queues the pairing emails; publishing again does nothing.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/rounds/{number}/publish", tag = "rounds",
        params(RoundParams),
        responses(
            (status = 200, description = "What publishing did", body = PublishResponse),
            (status = 404, description = "No such trial or round", body = ErrorBody),
            (status = 409, description = "The round cannot be published", body = ErrorBody),
            (status = 422, description = "The round cannot be published", body = ErrorBody),
        ))]
    pub async fn publish(
        store: Data<Store>,
        web_settings: Data<WebSettings>,
        ApiTrialInPath(trial): ApiTrialInPath,
        path: RoundPath,
    ) -> Result<HttpResponse, ApiError> {
        let id = round_id(&store, &trial, path.1).await?;
        let organiser = web_settings.organiser();
        let base_url = &web_settings.base_url;
        let published =
            rounds::publish_from(&store, &trial, id, base_url, &organiser, Utc::now()).await?;
        Ok(HttpResponse::Ok().json(PublishResponse::from(published)))
    }
}
