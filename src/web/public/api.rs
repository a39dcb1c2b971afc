//! The participants' JSON API under `/api/v1/public/`: sign-up, confirmation and the manage
//! actions, with the same rules and answers as the pages. The token from an emailed link
//! stands in for a login.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Json, Path};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use chrono::Utc;
use serde::Deserialize;

use crate::app::participants::{self, ParticipantError};
use crate::app::signups::{Admission, SignUpDesk};
use crate::domain::ParticipantInput;
use crate::store::participants::Member;
use crate::store::signup::{LinkPurpose, OtherMember};
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::client_address::client_address;
use crate::web::errors::{ApiError, ErrorBody};

/// The token from the emailed link (`/m/{token}` or `/c/{token}`): it stands in for a login.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenParam {
    /// The token from the link.
    pub token: String,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/public/signups", web::post().to(signup))
        .route("/api/v1/public/confirm/{token}", web::post().to(confirm))
        .service(
            web::resource("/api/v1/public/manage/{token}")
                .route(web::get().to(show))
                .route(web::put().to(edit))
                .route(web::delete().to(erase)),
        )
        .route("/api/v1/public/manage/{token}/pause", web::post().to(pause))
        .route(
            "/api/v1/public/manage/{token}/resume",
            web::post().to(resume),
        )
        .route("/api/v1/public/manage/{token}/skip", web::post().to(skip))
        .route("/api/v1/public/manage/{token}/leave", web::post().to(leave))
        .route(
            "/api/v1/public/manage/{token}/rejoin",
            web::post().to(rejoin),
        )
        .service(
            web::resource("/api/v1/public/manage/{token}/do-not-pair")
                .route(web::get().to(do_not_pair))
                .route(web::put().to(set_do_not_pair)),
        )
        .route(
            "/api/v1/public/manage/{token}/export",
            web::get().to(export),
        );
}

impl From<ParticipantError> for ApiError {
    fn from(e: ParticipantError) -> Self {
        match e {
            ParticipantError::Invalid(errors) => match errors.into_iter().next() {
                Some(first) => {
                    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, first.field, first.message)
                }
                None => ApiError::status(StatusCode::UNPROCESSABLE_ENTITY, "invalid input"),
            },
            other => ApiError::Unexpected(other.into()),
        }
    }
}

fn gone() -> ApiError {
    ApiError::field(
        StatusCode::GONE,
        "token",
        "this link has expired, has been used, or its data has been deleted",
    )
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct SignUpBody {
    /// The trial's short address.
    trial: String,
    #[serde(flatten)]
    input: ParticipantInput,
    consent: bool,
}

/// The answer to a sign-up, the same whether or not the address was known.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SignUpAccepted {
    /// Always `check_your_email`.
    status: &'static str,
    message: &'static str,
}

/// Signs someone up to a trial; they confirm by the link in the email.
#[utoipa::path(post, path = "/api/v1/public/signups", tag = "public", request_body = SignUpBody,
    responses(
        (status = 202, description = "Check your email (also for an address already known)", body = SignUpAccepted),
        (status = 422, description = "A value is refused, or no open trial has this address (`field` names it)", body = ErrorBody),
        (status = 429, description = "Over the sign-up limits; `Retry-After` says when to try again", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn signup(
    req: HttpRequest,
    desk: Data<SignUpDesk>,
    body: Json<SignUpBody>,
) -> Result<HttpResponse, ApiError> {
    let checked = match desk.trial(body.trial.trim()).await? {
        Some(trial) => participants::check_sign_up(&trial, &body.input, body.consent)
            .map(|details| (trial, details))
            .map_err(ApiError::from),
        None => Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "trial",
            "there is no trial with this short address",
        )),
    };
    let valid = checked
        .as_ref()
        .ok()
        .map(|(trial, details)| (trial, details));
    // Counted against the address whether or not the request was valid: a script cannot try
    // without counting.
    if let Admission::Wait(seconds) = desk
        .sign_up(client_address(&req), valid, Utc::now())
        .await?
    {
        return Ok(too_many(seconds));
    }
    checked?;
    Ok(HttpResponse::Accepted().json(SignUpAccepted {
        status: "check_your_email",
        message: "We have sent an email to this address. Follow the link in it to confirm.",
    }))
}

/// The JSON 429, with the same Retry-After as the page's.
fn too_many(retry_after_seconds: u64) -> HttpResponse {
    let mut response = ApiError::status(
        StatusCode::TOO_MANY_REQUESTS,
        "too many sign-ups in the last hour; try again later",
    )
    .error_response();
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(retry_after_seconds),
    );
    response
}

/// A participant as they see themselves through the API. Fields are in alphabetical order,
/// as the answers have always listed them.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ParticipantResponse<'a> {
    pub attribute_value: &'a str,
    pub email: Option<&'a str>,
    pub introduction: &'a str,
    /// Any of `in_person`, `video`, `phone`.
    pub meeting_modes: Vec<&'static str>,
    pub name: &'a str,
    /// The date only (YYYY-MM-DD).
    pub paused_until: Option<String>,
    pub public_id: &'a str,
    pub role: &'a str,
    pub site: &'a str,
    pub skip_next_round: bool,
    /// `pending`, `active`, `paused`, `left` or `erased`.
    pub state: &'a str,
    pub trial: TrialBrief<'a>,
}

/// What a participant's answers say about their trial.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TrialBrief<'a> {
    pub attribute_name: &'a str,
    pub attribute_values: Vec<&'a str>,
    pub name: &'a str,
    pub slug: &'a str,
}

fn view<'a>(member: &'a Member, trial: &'a Trial) -> ParticipantResponse<'a> {
    ParticipantResponse {
        attribute_value: &member.attribute_value,
        email: member.email.as_deref(),
        introduction: &member.introduction,
        meeting_modes: member
            .meeting_mode_list()
            .iter()
            .map(|m| m.as_str())
            .collect(),
        name: &member.name,
        paused_until: member
            .paused_until
            .map(|t| t.format("%Y-%m-%d").to_string()),
        public_id: &member.public_id,
        role: &member.role,
        site: &member.site,
        skip_next_round: member.skip_next_round,
        state: member.state.as_str(),
        trial: TrialBrief {
            attribute_name: &trial.attribute_name,
            attribute_values: trial.attribute_value_list(),
            name: &trial.name,
            slug: &trial.slug,
        },
    }
}

/// A confirmed sign-up: the token for the manage routes, and the participant.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Confirmed<'a> {
    manage_token: String,
    participant: ParticipantResponse<'a>,
}

/// Confirms a sign-up with the token from the confirmation email.
#[utoipa::path(post, path = "/api/v1/public/confirm/{token}", tag = "public", params(TokenParam),
    responses(
        (status = 200, description = "Confirmed", body = Confirmed),
        (status = 410, description = "The link has expired or was used (`field` is `token`)", body = ErrorBody),
    ))]
pub async fn confirm(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, ApiError> {
    let (found, manage_token) = participants::confirm(&store, &token, Utc::now())
        .await?
        .ok_or_else(gone)?;
    Ok(HttpResponse::Ok().json(Confirmed {
        manage_token,
        participant: view(&found.member, &found.trial),
    }))
}

async fn managed(store: &Store, token: &str) -> Result<(Member, Trial), ApiError> {
    let found = participants::linked_member(store, LinkPurpose::Manage, token, Utc::now())
        .await?
        .ok_or_else(gone)?;
    Ok((found.member, found.trial))
}

/// The member as they are now, after a change.
async fn current(store: &Store, member: &Member, trial: &Trial) -> Result<HttpResponse, ApiError> {
    let fresh = participants::member_now(store, member)
        .await?
        .ok_or_else(gone)?;
    Ok(HttpResponse::Ok().json(view(&fresh, trial)))
}

/// The participant, as they see themselves.
#[utoipa::path(get, path = "/api/v1/public/manage/{token}", tag = "public", params(TokenParam),
    responses(
        (status = 200, description = "The participant", body = ParticipantResponse),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
    ))]
pub async fn show(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, ApiError> {
    let (member, trial) = managed(&store, &token).await?;
    Ok(HttpResponse::Ok().json(view(&member, &trial)))
}

/// Replaces their details (the email address stays).
#[utoipa::path(put, path = "/api/v1/public/manage/{token}", tag = "public", params(TokenParam), request_body = ParticipantInput,
    responses(
        (status = 200, description = "The participant now", body = ParticipantResponse),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
        (status = 422, description = "A value is refused (`field` names it)", body = ErrorBody),
    ))]
pub async fn edit(
    store: Data<Store>,
    token: Path<String>,
    body: Json<ParticipantInput>,
) -> Result<HttpResponse, ApiError> {
    let (member, trial) = managed(&store, &token).await?;
    participants::update_details(&store, &trial, &member, &body, Utc::now()).await?;
    current(&store, &member, &trial).await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct PauseBody {
    /// A date such as 2026-05-01.
    until: String,
}

/// Pauses until a date after today, within a year.
#[utoipa::path(post, path = "/api/v1/public/manage/{token}/pause", tag = "public", params(TokenParam), request_body = PauseBody,
    responses(
        (status = 200, description = "The participant now", body = ParticipantResponse),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
        (status = 422, description = "A bad date (`field` is `until`)", body = ErrorBody),
    ))]
pub async fn pause(
    store: Data<Store>,
    token: Path<String>,
    body: Json<PauseBody>,
) -> Result<HttpResponse, ApiError> {
    let (member, trial) = managed(&store, &token).await?;
    participants::pause(&store, &member, &body.until, Utc::now()).await?;
    current(&store, &member, &trial).await
}

/// Ends a pause.
#[utoipa::path(post, path = "/api/v1/public/manage/{token}/resume", tag = "public", params(TokenParam),
    responses(
        (status = 200, description = "The participant now", body = ParticipantResponse),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
        (status = 422, description = "Not possible in their state", body = ErrorBody),
    ))]
pub async fn resume(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, ApiError> {
    let (member, trial) = managed(&store, &token).await?;
    participants::resume(&store, &member, Utc::now()).await?;
    current(&store, &member, &trial).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SkipBody {
    /// `true` (the default) to skip the next round, `false` to take part after all.
    skip: bool,
}

impl Default for SkipBody {
    fn default() -> Self {
        Self { skip: true }
    }
}

/// Skips the next round, or takes the skip back.
#[utoipa::path(post, path = "/api/v1/public/manage/{token}/skip", tag = "public", params(TokenParam), request_body(content = Option<SkipBody>, description = "Optional: without it, skip"),
    responses(
        (status = 200, description = "The participant now", body = ParticipantResponse),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
        (status = 422, description = "Not possible in their state", body = ErrorBody),
    ))]
pub async fn skip(
    store: Data<Store>,
    token: Path<String>,
    body: Option<Json<SkipBody>>,
) -> Result<HttpResponse, ApiError> {
    let (member, trial) = managed(&store, &token).await?;
    let on = body.map(|b| b.skip).unwrap_or(true);
    participants::skip_next_round(&store, &member, on, Utc::now()).await?;
    current(&store, &member, &trial).await
}

/// Leaves the trial.
#[utoipa::path(post, path = "/api/v1/public/manage/{token}/leave", tag = "public", params(TokenParam),
    responses(
        (status = 200, description = "The participant now", body = ParticipantResponse),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
        (status = 422, description = "Not possible in their state", body = ErrorBody),
    ))]
pub async fn leave(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, ApiError> {
    let (member, trial) = managed(&store, &token).await?;
    participants::leave(&store, &member, Utc::now()).await?;
    current(&store, &member, &trial).await
}

/// Joins the trial again after leaving.
#[utoipa::path(post, path = "/api/v1/public/manage/{token}/rejoin", tag = "public", params(TokenParam),
    responses(
        (status = 200, description = "The participant now", body = ParticipantResponse),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
        (status = 422, description = "Not possible in their state", body = ErrorBody),
    ))]
pub async fn rejoin(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, ApiError> {
    let (member, trial) = managed(&store, &token).await?;
    participants::rejoin(&store, &trial, &member, Utc::now()).await?;
    current(&store, &member, &trial).await
}

/// Someone else in the same trial: a name and nothing more.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OtherPerson<'a> {
    public_id: &'a str,
    name: &'a str,
}

impl<'a> From<&'a OtherMember> for OtherPerson<'a> {
    fn from(m: &'a OtherMember) -> Self {
        OtherPerson {
            public_id: &m.public_id,
            name: &m.name,
        }
    }
}

/// The private do-not-pair list and the people who could be put on it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct DoNotPair<'a> {
    chosen: Vec<OtherPerson<'a>>,
    candidates: Vec<OtherPerson<'a>>,
}

async fn do_not_pair_body(store: &Store, member: &Member) -> Result<HttpResponse, ApiError> {
    let (candidates, chosen) = participants::do_not_pair(store, member).await?;
    Ok(HttpResponse::Ok().json(DoNotPair {
        chosen: chosen.iter().map(Into::into).collect(),
        candidates: candidates.iter().map(Into::into).collect(),
    }))
}

/// The private do-not-pair list, never shown to anyone else.
#[utoipa::path(get, path = "/api/v1/public/manage/{token}/do-not-pair", tag = "public", params(TokenParam),
    responses(
        (status = 200, description = "The list and the candidates", body = DoNotPair),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
    ))]
pub async fn do_not_pair(
    store: Data<Store>,
    token: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (member, _) = managed(&store, &token).await?;
    do_not_pair_body(&store, &member).await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct DoNotPairBody {
    /// The `public_id`s of people in the same trial.
    people: Vec<String>,
}

/// Replaces the do-not-pair list.
#[utoipa::path(put, path = "/api/v1/public/manage/{token}/do-not-pair", tag = "public", params(TokenParam), request_body = DoNotPairBody,
    responses(
        (status = 200, description = "The list and the candidates", body = DoNotPair),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
        (status = 422, description = "Someone not in the trial (`field` is `people`)", body = ErrorBody),
    ))]
pub async fn set_do_not_pair(
    store: Data<Store>,
    token: Path<String>,
    body: Json<DoNotPairBody>,
) -> Result<HttpResponse, ApiError> {
    let (member, _) = managed(&store, &token).await?;
    participants::set_do_not_pair(&store, &member, &body.people, Utc::now()).await?;
    do_not_pair_body(&store, &member).await
}

/// Everything stored about the person, as the download on the manage page.
#[utoipa::path(get, path = "/api/v1/public/manage/{token}/export", tag = "public", params(TokenParam),
    responses(
        (status = 200, description = "Their data", body = Object),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
    ))]
pub async fn export(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, ApiError> {
    let (member, _) = managed(&store, &token).await?;
    let data = participants::export(&store, &member, Utc::now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(data))
}

/// Deletes the person's data from every trial.
#[utoipa::path(delete, path = "/api/v1/public/manage/{token}", tag = "public", params(TokenParam),
    responses(
        (status = 204, description = "Deleted"),
        (status = 410, description = "The link has expired, or its data was deleted (`field` is `token`)", body = ErrorBody),
    ))]
pub async fn erase(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, ApiError> {
    let (member, _) = managed(&store, &token).await?;
    participants::erase(&store, &member, Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
