//! The outbox in the console: how delivery is going (and since when it has been failing),
//! the messages waiting for another attempt with a "Retry now" button, and the messages that
//! gave up, each with a button to send it again.
use actix_web::web::{self, Data, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::see_other;
use crate::store::outbox::{DeliveryFailing, FailedEmail, OutboxProgress, WaitingEmail};
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::dates::filters;
use crate::web::errors::PageError;
use crate::web::pages::render;
use crate::web::WebSettings;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(page)
        .service(retry)
        .service(retry_all)
        .service(retry_now);
}

/// The most failed messages the page lists; "Send all again" covers the rest too.
const LISTED: i64 = 200;

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    csrf: CsrfToken,
    counts: OutboxProgress,
    failed: Vec<FailedEmail>,
    waiting: Vec<WaitingEmail>,
    failing: Option<DeliveryFailing>,
    smtp_configured: bool,
}

#[get("/outbox")]
pub async fn page(
    store: Data<Store>,
    csrf: CsrfToken,
    web_settings: Data<WebSettings>,
) -> Result<HttpResponse, PageError> {
    let state = crate::app::outbox::state(&store, LISTED).await?;
    Ok(render(&OutboxPage {
        csrf,
        counts: state.counts,
        failed: state.failed,
        waiting: state.waiting,
        failing: state.failing,
        smtp_configured: web_settings.smtp_configured,
    }))
}

/// Queues one failed message again; one that is no longer failed is left alone.
#[post("/outbox/{id}/retry")]
pub async fn retry(store: Data<Store>, id: Path<i64>) -> Result<HttpResponse, PageError> {
    crate::app::outbox::send_failed_again(&store, *id, Utc::now()).await?;
    Ok(see_other("/admin/outbox"))
}

#[post("/outbox/retry-failed")]
pub async fn retry_all(store: Data<Store>) -> Result<HttpResponse, PageError> {
    crate::app::outbox::send_all_failed_again(&store, Utc::now()).await?;
    Ok(see_other("/admin/outbox"))
}

/// "Retry now": every message waiting for another attempt is due at once (after an outage,
/// rather than waiting out its back-off).
#[post("/outbox/retry-now")]
pub async fn retry_now(store: Data<Store>) -> Result<HttpResponse, PageError> {
    crate::app::outbox::retry_waiting_now(&store, Utc::now()).await?;
    Ok(see_other("/admin/outbox"))
}
