//! Rounds in the console: start one, preview it, reshuffle or swap, publish.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::see_other;
use crate::app::rounds::{self, RoundError, RoundView};
use crate::store::rounds::Round;
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{message, render, render_status};
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
}

fn failure(e: RoundError) -> HttpResponse {
    match e {
        RoundError::NotFound => message(
            StatusCode::NOT_FOUND,
            "No such round",
            "There is no round at this address.",
        ),
        RoundError::Published => message(
            StatusCode::CONFLICT,
            "Already published",
            "This round has been published; published rounds never change.",
        ),
        RoundError::Invalid(m) => {
            message(StatusCode::UNPROCESSABLE_ENTITY, "That did not work", &m)
        }
        other => crate::web::pages::internal_error(other),
    }
}

async fn trial(store: &Store, slug: &str) -> Result<Trial, RoundError> {
    store.find_trial(slug).await?.ok_or(RoundError::NotFound)
}

async fn round(store: &Store, trial: &Trial, number: i64) -> Result<Round, RoundError> {
    store
        .find_round_by_number(trial.id, number)
        .await?
        .ok_or(RoundError::NotFound)
}

#[get("/trials/{slug}/rounds")]
pub async fn list(store: Data<Store>, csrf: CsrfToken, slug: Path<String>) -> HttpResponse {
    let result = async {
        let trial = trial(&store, &slug).await?;
        let rounds = store.list_rounds(trial.id).await?;
        Ok::<_, RoundError>(RoundsPage {
            csrf,
            trial,
            rounds,
        })
    }
    .await;
    match result {
        Ok(page) => render(&page),
        Err(e) => failure(e),
    }
}

#[post("/trials/{slug}/rounds")]
pub async fn start(store: Data<Store>, slug: Path<String>) -> HttpResponse {
    let result = async {
        let trial = trial(&store, &slug).await?;
        let view =
            rounds::propose(&store, &trial, "manual", None, rand::random(), Utc::now()).await?;
        Ok::<_, RoundError>((trial, view))
    }
    .await;
    match result {
        Ok((trial, Some(view))) => see_other(&format!(
            "/admin/trials/{}/rounds/{}",
            trial.slug, view.round.number
        )),
        Ok((_, None)) => failure(RoundError::Invalid(
            "a round already exists for this slot".into(),
        )),
        Err(e) => failure(e),
    }
}

#[get("/trials/{slug}/rounds/{number}")]
pub async fn show(store: Data<Store>, csrf: CsrfToken, path: Path<(String, i64)>) -> HttpResponse {
    let (slug, number) = path.into_inner();
    page(&store, csrf, &slug, number, None, None, StatusCode::OK).await
}

async fn page(
    store: &Store,
    csrf: CsrfToken,
    slug: &str,
    number: i64,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let result = async {
        let trial = trial(store, slug).await?;
        let round = round(store, &trial, number).await?;
        let delivery = if round.is_draft() {
            None
        } else {
            Some(store.outbox_progress_for_round(round.id).await?)
        };
        let view = rounds::view(store, &trial, round, Utc::now()).await?;
        Ok::<_, RoundError>(RoundPage {
            csrf,
            trial,
            view,
            delivery,
            error,
            notice,
        })
    }
    .await;
    match result {
        Ok(p) => render_status(status, &p),
        Err(e) => failure(e),
    }
}

#[post("/trials/{slug}/rounds/{number}/reshuffle")]
pub async fn reshuffle(store: Data<Store>, path: Path<(String, i64)>) -> HttpResponse {
    let (slug, number) = path.into_inner();
    let result = async {
        let trial = trial(&store, &slug).await?;
        let r = round(&store, &trial, number).await?;
        rounds::reshuffle(&store, &trial, r.id, rand::random(), Utc::now()).await
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("/admin/trials/{slug}/rounds/{number}")),
        Err(e) => failure(e),
    }
}

#[derive(serde::Deserialize)]
pub struct SwapForm {
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
}

#[post("/trials/{slug}/rounds/{number}/swap")]
pub async fn swap(
    store: Data<Store>,
    csrf: CsrfToken,
    path: Path<(String, i64)>,
    form: Form<SwapForm>,
) -> HttpResponse {
    let (slug, number) = path.into_inner();
    let result = async {
        let trial = trial(&store, &slug).await?;
        let r = round(&store, &trial, number).await?;
        rounds::swap(&store, &trial, r.id, &form.a, &form.b, Utc::now()).await
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("/admin/trials/{slug}/rounds/{number}")),
        Err(RoundError::Invalid(m)) => {
            page(
                &store,
                csrf,
                &slug,
                number,
                Some(m),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(e),
    }
}

#[post("/trials/{slug}/rounds/{number}/publish")]
pub async fn publish(
    store: Data<Store>,
    csrf: CsrfToken,
    web_settings: Data<WebSettings>,
    path: Path<(String, i64)>,
) -> HttpResponse {
    let (slug, number) = path.into_inner();
    let result = async {
        let trial = trial(&store, &slug).await?;
        let r = round(&store, &trial, number).await?;
        rounds::publish(&store, &trial, r.id, &web_settings.base_url, Utc::now()).await
    }
    .await;
    match result {
        Ok(p) => {
            let notice = if p.newly_published {
                format!(
                    "Published. {} pairing emails are on their way.",
                    p.emails_queued
                )
            } else {
                "This round was already published; nothing more was sent.".to_string()
            };
            page(
                &store,
                csrf,
                &slug,
                number,
                None,
                Some(notice),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => failure(e),
    }
}

#[post("/trials/{slug}/rounds/{number}/discard")]
pub async fn discard(store: Data<Store>, path: Path<(String, i64)>) -> HttpResponse {
    let (slug, number) = path.into_inner();
    let result = async {
        let trial = trial(&store, &slug).await?;
        let r = round(&store, &trial, number).await?;
        if !store.delete_draft_round(r.id, Utc::now()).await? {
            return Err(RoundError::Published);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("/admin/trials/{slug}/rounds")),
        Err(e) => failure(e),
    }
}
