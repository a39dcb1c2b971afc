//! Rounds in the console: start one, preview it, reshuffle or swap, publish.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::see_other;
use crate::app::rounds::{self, RoundError, RoundView};
use crate::store::rounds::Round;
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{render, render_status};
use crate::web::trial_in_path::TrialInPath;
use crate::web::WebSettings;

#[derive(Template)]
#[template(path = "admin/rounds.html")]
struct RoundsPage {
    csrf: CsrfToken,
    trial: Trial,
    rounds: Vec<Round>,
}

#[derive(Template)]
#[template(path = "admin/round.html")]
struct RoundPage {
    csrf: CsrfToken,
    trial: Trial,
    view: RoundView,
    /// Delivery of the pairing emails, once published.
    delivery: Option<crate::store::outbox::OutboxProgress>,
    error: Option<String>,
    notice: Option<String>,
    /// A swap waiting for the organiser to confirm it, with what it would cause.
    pending_swap: Option<PendingSwap>,
}

/// A swap that makes a group that cannot meet, or a repeat: shown with its warnings and a
/// button that sends it again with `confirm`.
struct PendingSwap {
    a: String,
    b: String,
    warnings: Vec<String>,
}

impl From<RoundError> for PageError {
    fn from(e: RoundError) -> Self {
        match e {
            RoundError::NotFound => PageError::NotFound {
                title: "No such round",
                message: "There is no round at this address.",
            },
            RoundError::Published => PageError::Refused {
                status: StatusCode::CONFLICT,
                title: "Already published",
                message: "This round has been published; published rounds never change.".into(),
            },
            RoundError::Invalid(message) | RoundError::Refused { message, .. } => {
                PageError::Refused {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    title: "That did not work",
                    message,
                }
            }
            RoundError::NeedsConfirmation(warnings) => PageError::Refused {
                status: StatusCode::CONFLICT,
                title: "Please confirm",
                message: warnings.join("; "),
            },
            other => PageError::unexpected(other),
        }
    }
}

async fn round(store: &Store, trial: &Trial, number: i64) -> Result<Round, RoundError> {
    crate::app::rounds::find_by_number(store, trial, number)
        .await?
        .ok_or(RoundError::NotFound)
}

/// The round number in `/trials/{slug}/rounds/{number}`; the trial comes from [`TrialInPath`].
type RoundPath = Path<(String, i64)>;

#[get("/trials/{slug}/rounds")]
pub async fn list(
    store: Data<Store>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
) -> Result<HttpResponse, PageError> {
    let rounds = crate::app::trials::rounds(&store, trial.id).await?;
    Ok(render(&RoundsPage {
        csrf,
        trial,
        rounds,
    }))
}

#[post("/trials/{slug}/rounds")]
pub async fn start(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
) -> Result<HttpResponse, PageError> {
    let view = rounds::propose(
        &store,
        &trial,
        crate::domain::RoundKind::Manual,
        None,
        rand::random(),
        Utc::now(),
    )
    .await?;
    match view {
        Some(view) => Ok(see_other(&format!(
            "/admin/trials/{}/rounds/{}",
            trial.slug, view.round.number
        ))),
        None => Err(RoundError::Invalid("a round already exists for this slot".into()).into()),
    }
}

/// What the last button did, carried in the address after the redirect.
#[derive(serde::Deserialize)]
pub struct RoundQuery {
    /// After publishing: how many emails went out, or "already".
    published: Option<String>,
}

fn published_notice(published: &str) -> Option<String> {
    Some(match published {
        "already" => "This round was already published; nothing more was sent.".to_string(),
        n => match n.parse::<usize>().ok()? {
            1 => "Published. 1 pairing email is on its way.".to_string(),
            n => format!("Published. {n} pairing emails are on their way."),
        },
    })
}

#[get("/trials/{slug}/rounds/{number}")]
pub async fn show(
    store: Data<Store>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
    path: RoundPath,
    query: Query<RoundQuery>,
) -> Result<HttpResponse, PageError> {
    let notice = query.published.as_deref().and_then(published_notice);
    page(&store, csrf, trial, path.1, None, notice, StatusCode::OK).await
}

async fn page(
    store: &Store,
    csrf: CsrfToken,
    trial: Trial,
    number: i64,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    page_with(store, csrf, trial, number, error, notice, None, status).await
}

#[allow(clippy::too_many_arguments)]
async fn page_with(
    store: &Store,
    csrf: CsrfToken,
    trial: Trial,
    number: i64,
    error: Option<String>,
    notice: Option<String>,
    pending_swap: Option<PendingSwap>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let round = round(store, &trial, number).await?;
    let delivery = if round.is_draft() {
        None
    } else {
        Some(crate::app::outbox::progress_for_round(store, round.id).await?)
    };
    let view = rounds::view(store, &trial, round, Utc::now()).await?;
    Ok(render_status(
        status,
        &RoundPage {
            csrf,
            trial,
            view,
            delivery,
            error,
            notice,
            pending_swap,
        },
    ))
}

#[post("/trials/{slug}/rounds/{number}/reshuffle")]
pub async fn reshuffle(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
    path: RoundPath,
) -> Result<HttpResponse, PageError> {
    let r = round(&store, &trial, path.1).await?;
    rounds::reshuffle(&store, &trial, r.id, rand::random(), Utc::now()).await?;
    Ok(see_other(&format!(
        "/admin/trials/{}/rounds/{}",
        trial.slug, path.1
    )))
}

#[derive(serde::Deserialize)]
pub struct SwapForm {
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
    /// Present when the organiser confirmed the warnings of this swap.
    confirm: Option<String>,
}

#[post("/trials/{slug}/rounds/{number}/swap")]
pub async fn swap(
    store: Data<Store>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
    path: RoundPath,
    form: Form<SwapForm>,
) -> Result<HttpResponse, PageError> {
    let number = path.1;
    let r = round(&store, &trial, number).await?;
    let confirm = form.confirm.is_some();
    match rounds::swap(&store, &trial, r.id, &form.a, &form.b, confirm, Utc::now()).await {
        Ok(_) => Ok(see_other(&format!(
            "/admin/trials/{}/rounds/{number}",
            trial.slug
        ))),
        // The page again, with the warnings and a button to go ahead anyway.
        Err(RoundError::NeedsConfirmation(warnings)) => {
            page_with(
                &store,
                csrf,
                trial,
                number,
                None,
                None,
                Some(PendingSwap {
                    a: form.a.clone(),
                    b: form.b.clone(),
                    warnings,
                }),
                StatusCode::CONFLICT,
            )
            .await
        }
        // The page again, with the message next to the swap form.
        Err(RoundError::Invalid(m) | RoundError::Refused { message: m, .. }) => {
            page(
                &store,
                csrf,
                trial,
                number,
                Some(m),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/round_publish.html")]
struct PublishPage {
    csrf: CsrfToken,
    trial: Trial,
    view: RoundView,
}

/// The step before publishing: how many emails will go out, to how many people, and the
/// button that sends them. A published round has nothing to confirm: its page instead.
#[get("/trials/{slug}/rounds/{number}/publish")]
pub async fn confirm_publish(
    store: Data<Store>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
    path: RoundPath,
) -> Result<HttpResponse, PageError> {
    let number = path.1;
    let r = round(&store, &trial, number).await?;
    if !r.is_draft() {
        return Ok(see_other(&round_address(&trial, number)));
    }
    let view = rounds::view(&store, &trial, r, Utc::now()).await?;
    Ok(render(&PublishPage { csrf, trial, view }))
}

fn round_address(trial: &Trial, number: i64) -> String {
    format!("/admin/trials/{}/rounds/{number}", trial.slug)
}

#[derive(serde::Deserialize)]
pub struct PublishForm {
    /// Sent by the confirmation page's button; without it the confirmation comes first.
    confirm: Option<String>,
}

#[post("/trials/{slug}/rounds/{number}/publish")]
pub async fn publish(
    store: Data<Store>,
    web_settings: Data<WebSettings>,
    TrialInPath(trial): TrialInPath,
    path: RoundPath,
    form: Form<PublishForm>,
) -> Result<HttpResponse, PageError> {
    let number = path.1;
    if form.confirm.as_deref() != Some("yes") {
        return Ok(see_other(&format!(
            "{}/publish",
            round_address(&trial, number)
        )));
    }
    let r = round(&store, &trial, number).await?;
    let organiser = web_settings.organiser();
    let p = rounds::publish_from(
        &store,
        &trial,
        r.id,
        &web_settings.base_url,
        &organiser,
        Utc::now(),
    )
    .await?;
    let published = if p.newly_published {
        p.emails_queued.to_string()
    } else {
        "already".to_string()
    };
    Ok(see_other(&format!(
        "{}?published={published}",
        round_address(&trial, number)
    )))
}

#[post("/trials/{slug}/rounds/{number}/discard")]
pub async fn discard(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
    path: RoundPath,
) -> Result<HttpResponse, PageError> {
    let r = round(&store, &trial, path.1).await?;
    if !crate::app::rounds::discard_draft(&store, r.id, Utc::now()).await? {
        return Err(RoundError::Published.into());
    }
    Ok(see_other(&format!("/admin/trials/{}/rounds", trial.slug)))
}
