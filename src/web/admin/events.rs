//! Running an event from the console: the check-in list (made for a phone), "run a quick
//! round now", and the display page for a projector.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Form, Path, Query};
use actix_web::HttpResponse;
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{see_other, Errors};
use crate::app::events::{self, CheckInList, Display, EventError};
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{render, render_status};
use crate::web::trial_in_path::TrialInPath;
use crate::web::WebSettings;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/trials/{slug}/event", web::get().to(check_in_page))
        .route(
            "/trials/{slug}/event/people/{public_id}/check-in",
            web::post().to(check_in),
        )
        .route(
            "/trials/{slug}/event/people/{public_id}/left",
            web::post().to(mark_left),
        )
        .route("/trials/{slug}/event/rounds", web::post().to(run_round))
        .route(
            "/trials/{slug}/event/summaries",
            web::post().to(send_summaries),
        )
        .route("/trials/{slug}/display", web::get().to(display));
}

#[derive(Template)]
#[template(path = "admin/event_checkin.html")]
struct CheckInPage {
    csrf: CsrfToken,
    trial: Trial,
    list: CheckInList,
    search: String,
    /// What was just done, for the note at the top.
    done: Done,
    /// People sent the summary so far.
    summaries_sent: i64,
    /// The "also email the pairs" box as the organiser left it.
    email_pairs: bool,
    errors: Errors,
    /// Sent with "run a quick round now", so that a second press of this page's form finds
    /// the round the first one started.
    round_key: String,
}

/// The outcome of the last button pressed, carried in the address after the redirect.
#[derive(Debug, Default, Clone, Copy)]
struct Done {
    started: Option<i64>,
    /// People who were here but could not be placed in that round.
    unplaced: Option<i64>,
    emailed: Option<i64>,
    summaries: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/event_display.html")]
struct DisplayPage {
    trial: Trial,
    display: Display,
    /// When the round ends, as RFC 3339 text for the countdown script.
    ends_at: String,
    refresh_seconds: i64,
}

impl DisplayPage {
    fn clock(&self) -> String {
        let s = self.display.seconds_left;
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    q: String,
    started: Option<i64>,
    unplaced: Option<i64>,
    emailed: Option<i64>,
    summaries: Option<i64>,
}

#[derive(Deserialize)]
struct RoundForm {
    /// The checkbox: present ("yes") only when ticked.
    email_pairs: Option<String>,
    /// The page's form key (see `CheckInPage::round_key`).
    #[serde(default)]
    key: String,
}

#[derive(Deserialize)]
struct TickForm {
    #[serde(default)]
    q: String,
}

impl From<EventError> for PageError {
    fn from(e: EventError) -> Self {
        match e {
            EventError::NotAnEvent => PageError::Refused {
                status: StatusCode::CONFLICT,
                title: "Not an event",
                message: "This trial is a programme of rounds, not an event. Mark it as an event in its settings to use check-in and quick rounds.".into(),
            },
            EventError::NoSuchPerson => PageError::NotFound {
                title: "No such person",
                message: "Nobody at this address takes part in this event, or they have already been marked as left.",
            },
            EventError::NotNow(message) => PageError::Refused {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                title: "That did not work",
                message,
            },
            other => PageError::unexpected(other),
        }
    }
}

/// The trial in the path, which must be an event for these pages.
fn event_trial(TrialInPath(trial): TrialInPath) -> Result<Trial, PageError> {
    if trial.is_event() {
        Ok(trial)
    } else {
        Err(EventError::NotAnEvent.into())
    }
}

/// The person in `/trials/{slug}/event/people/{public_id}/...`.
type PersonPath = Path<(String, String)>;

/// Back to the list where the organiser was: same search, same person in view.
fn back(slug: &str, q: &str, public_id: &str) -> HttpResponse {
    let query = if q.trim().is_empty() {
        String::new()
    } else {
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q.trim())
            .finish();
        format!("?{encoded}")
    };
    see_other(&format!("/admin/trials/{slug}/event{query}#p-{public_id}"))
}

async fn check_in_page(
    store: Data<Store>,
    csrf: CsrfToken,
    trial: TrialInPath,
    query: Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let trial = event_trial(trial)?;
    page(
        &store,
        csrf,
        trial,
        &query.q,
        Done {
            started: query.started,
            unplaced: query.unplaced,
            emailed: query.emailed,
            summaries: query.summaries,
        },
        false,
        Errors::default(),
    )
    .await
}

async fn page(
    store: &Store,
    csrf: CsrfToken,
    trial: Trial,
    search: &str,
    done: Done,
    email_pairs: bool,
    errors: Errors,
) -> Result<HttpResponse, PageError> {
    let list = events::check_in_list(store, &trial, Some(search)).await?;
    let summaries_sent = events::summaries_sent(store, &trial).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(
        status,
        &CheckInPage {
            csrf,
            trial,
            list,
            search: search.trim().to_string(),
            done,
            summaries_sent,
            email_pairs,
            errors,
            round_key: events::new_request_key(),
        },
    ))
}

async fn check_in(
    store: Data<Store>,
    trial: TrialInPath,
    path: PersonPath,
    form: Form<TickForm>,
) -> Result<HttpResponse, PageError> {
    let trial = event_trial(trial)?;
    events::check_in(&store, &trial, &path.1, Utc::now()).await?;
    Ok(back(&trial.slug, &form.q, &path.1))
}

async fn mark_left(
    store: Data<Store>,
    trial: TrialInPath,
    path: PersonPath,
    form: Form<TickForm>,
) -> Result<HttpResponse, PageError> {
    let trial = event_trial(trial)?;
    events::mark_left(&store, &trial, &path.1, Utc::now()).await?;
    Ok(back(&trial.slug, &form.q, &path.1))
}

async fn run_round(
    store: Data<Store>,
    csrf: CsrfToken,
    web_settings: Data<WebSettings>,
    trial: TrialInPath,
    form: Form<RoundForm>,
) -> Result<HttpResponse, PageError> {
    let trial = event_trial(trial)?;
    let email_pairs = form.email_pairs.is_some();
    let base_url = email_pairs.then_some(&web_settings.base_url);
    let key = Some(form.key.as_str()).filter(|k| !k.is_empty());
    let seed = rand::random();
    match events::run_quick_round_once(&store, &trial, key, seed, base_url, Utc::now()).await {
        // A second press of the same form: the round the first one started.
        Ok(done) if done.already_started => Ok(see_other(&format!(
            "/admin/trials/{}/event?started={}",
            trial.slug, done.view.round.number
        ))),
        Ok(done) => {
            let emailed = if email_pairs {
                format!("&emailed={}", done.emails_queued)
            } else {
                String::new()
            };
            let unplaced = match done.unplaced.len() {
                0 => String::new(),
                n => format!("&unplaced={n}"),
            };
            Ok(see_other(&format!(
                "/admin/trials/{}/event?started={}{unplaced}{emailed}",
                trial.slug, done.view.round.number
            )))
        }
        // The list again, with the reason next to the button.
        Err(EventError::NotNow(m)) => {
            page(
                &store,
                csrf,
                trial,
                "",
                Done::default(),
                email_pairs,
                Errors::one("round", m),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn send_summaries(
    store: Data<Store>,
    web_settings: Data<WebSettings>,
    trial: TrialInPath,
) -> Result<HttpResponse, PageError> {
    let trial = event_trial(trial)?;
    let n = events::send_summaries(&store, &trial, &web_settings.base_url, Utc::now()).await?;
    Ok(see_other(&format!(
        "/admin/trials/{}/event?summaries={n}#summary",
        trial.slug
    )))
}

async fn display(store: Data<Store>, trial: TrialInPath) -> Result<HttpResponse, PageError> {
    let trial = event_trial(trial)?;
    let display = events::display(&store, &trial, Utc::now()).await?;
    Ok(render(&DisplayPage {
        ends_at: display
            .ends_at
            .map(events::ends_at_text)
            .unwrap_or_default(),
        // Often enough to pick up a new round soon after it starts.
        refresh_seconds: 15,
        trial,
        display,
    }))
}
