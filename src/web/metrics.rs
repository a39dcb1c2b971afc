//! `GET /metrics` in the Prometheus text format, and the middleware that counts HTTP
//! requests. Off unless `METRICS_TOKEN` is set (then the main address serves it to a bearer
//! of that token) or `METRICS_BIND` names an address of its own (served there, to anyone who
//! can reach that address unless a token is also set).
//!
//! Labels never carry personal data: requests are labelled with the route's pattern
//! (`/t/{slug}/c/{token}`), never the path, and outbox figures with states and classes.
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::Store;

/// Seconds; from a fast page to a slow export.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's metrics recorder (once; later calls reuse it). `None` when another
/// recorder was installed first, e.g. by a program embedding this library.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("scheduler_tick_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Histogram samples wait in the recorder until upkeep folds them into their buckets. A scrape
/// runs it; a service that nobody scrapes kept every sample, about 16 bytes per request
/// (measured: RSS up 15 MB for each 900,000 answers of `/healthz`, without end). So the
/// recorder is installed with a task that runs upkeep every few seconds, for as long as the
/// runtime that serves the app.
pub fn install_with_upkeep() {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(5);
    if let Some(handle) = install() {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        });
    }
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, route pattern and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route pattern"
    );
    describe_gauge!(
        "outbox_messages",
        "Emails in the outbox by state (queued = waiting, sending, failed)"
    );
    describe_gauge!(
        "outbox_oldest_waiting_seconds",
        Unit::Seconds,
        "Age of the oldest email still waiting or being sent"
    );
    describe_counter!(
        "outbox_send_attempts_total",
        "Send attempts by this process, by result: sent, transient, unknown, permanent"
    );
    describe_counter!(
        "outbox_given_up_total",
        "Emails given up (marked failed) by this process, by class: refused, attempts"
    );
    describe_gauge!(
        "outbox_delivery_failing",
        "1 while this process's deliveries are failing, else 0"
    );
    describe_counter!("scheduler_ticks_total", "Scheduler turns, by result");
    describe_gauge!(
        "scheduler_lag_seconds",
        Unit::Seconds,
        "How late the latest scheduler turn started, against its plan"
    );
    describe_histogram!(
        "scheduler_tick_duration_seconds",
        Unit::Seconds,
        "Time one scheduler turn took"
    );
    describe_gauge!("rounds_published", "Rounds published, all trials together");
    describe_counter!(
        "signups_total",
        "Sign-ups taken by this process through the public form or API"
    );
}

/// Who may read `/metrics` on the address it is served from.
#[derive(Clone, Debug)]
pub struct MetricsAccess {
    /// Required as `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    /// Whether this address serves metrics at all.
    pub served: bool,
}

/// Counts every request by its route pattern and status, with its latency.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let response = next.call(req).await;
    let (route, status) = match &response {
        Ok(r) => (r.request().match_pattern(), r.status().as_u16()),
        Err(e) => (None, e.as_response_error().status_code().as_u16()),
    };
    let route = route.unwrap_or_else(|| "(no route)".to_string());
    let method = match method.as_str() {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "other".to_string(),
    };
    ::metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method.clone(),
        "route" => route.clone()
    )
    .record(started.elapsed().as_secs_f64());
    ::metrics::counter!(
        "http_requests_total",
        "method" => method,
        "route" => route,
        "status" => status.to_string()
    )
    .increment(1);
    response
}

#[actix_web::get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    store: Data<Store>,
    access: Option<Data<MetricsAccess>>,
) -> HttpResponse {
    let access = access
        .map(|a| a.get_ref().clone())
        .unwrap_or(MetricsAccess {
            token: None,
            served: false,
        });
    if !access.served {
        return crate::web::not_found::not_found(req).await;
    }
    if let Some(token) = &access.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| crate::tokens::constant_time_eq(g, token)) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
                .content_type("text/plain; charset=utf-8")
                .body("/metrics needs METRICS_TOKEN as a bearer token\n");
        }
    }
    let Some(handle) = install() else {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body("metrics are not available: another metrics recorder is installed\n");
    };
    // The database's figures are set on process-wide gauges and rendered at once; one scrape
    // at a time, so that two scrapes (of two apps in one test process) cannot mix them.
    static SCRAPE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = SCRAPE.lock().await;
    match crate::app::outbox::metrics_snapshot(&store, Utc::now()).await {
        Ok(s) => {
            for (state, n) in [
                ("queued", s.outbox_queued),
                ("sending", s.outbox_sending),
                ("failed", s.outbox_failed),
            ] {
                ::metrics::gauge!("outbox_messages", "state" => state).set(n as f64);
            }
            ::metrics::gauge!("outbox_oldest_waiting_seconds").set(s.oldest_waiting_seconds);
            ::metrics::gauge!("rounds_published").set(s.rounds_published as f64);
        }
        Err(e) => {
            // The process's own figures are still worth serving; the database ones are stale.
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "metrics: cannot read the database's figures");
        }
    }
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}
