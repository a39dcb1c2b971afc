//! The webhook worker: claims due deliveries with a lease (as the email outbox does), sends
//! each to the address checked just before, and records the answer. Failures are retried with
//! exponential backoff; an endpoint that has failed for longer than `switch_off_after` is
//! switched off, and its trial's organisers get an email queued in the same transaction.
//!
//! Logs name deliveries and endpoints by id only: an address may carry a secret (chat
//! channels' do) and bodies may carry names.
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::guard;
use super::sign;
use crate::config::Settings;
use crate::domain::{chat_body, shown_url};
use crate::store::outbox;
use crate::store::webhooks::{record_webhook_failure, ClaimedDelivery, Failure, SwitchedOff};
use crate::store::{Store, StoreError};

/// The most of a receiver's answer kept for the console.
pub const ANSWER_BYTES: usize = 512;
/// The largest body sent; a round of thousands with names stays well under it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub allow_http_loopback: bool,
    /// The service's public address: the technique library's link in chat announcements and
    /// the console link in emails.
    pub base_url: url::Url,
    pub batch_size: i64,
    pub lease: Duration,
    pub idle_poll: Duration,
    /// Attempts before one delivery is given up.
    pub max_attempts: i64,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long an endpoint may fail every attempt before it is switched off.
    pub switch_off_after: chrono::Duration,
    pub connect_timeout: Duration,
    /// For the whole exchange, answer included.
    pub timeout: Duration,
}

impl WebhookConfig {
    /// Twelve attempts over about a day (30 s doubling, at most 6 h apart); an endpoint that
    /// fails for 3 days is switched off.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            allow_http_loopback: settings.webhooks_allow_http_loopback,
            base_url: settings.base_url.clone(),
            batch_size: 10,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
            max_attempts: 12,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(6 * 3600),
            switch_off_after: chrono::Duration::days(3),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
        }
    }

    /// The wait before attempt `attempts + 1`.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.backoff_base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.backoff_max)
    }

    fn library_url(&self) -> String {
        self.base_url
            .join("techniques")
            .map(|u| u.to_string())
            .unwrap_or_default()
    }
}

/// What became of one claimed delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub delivery_id: i64,
    pub endpoint_id: i64,
    pub sent: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it was not sent or not accepted.
    pub error: Option<String>,
    /// Whether it will be tried again.
    pub will_retry: bool,
    /// Whether this failure switched the endpoint off.
    pub switched_off: bool,
}

/// Sends every delivery due as of `now`, once each, and answers what became of them. The
/// worker calls this in a loop; tests call it to drive delivery by hand (a later `now` makes
/// retries due).
pub async fn deliver_due(
    store: &Store,
    config: &WebhookConfig,
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes = Vec::new();
    loop {
        let lease_until = now + chrono::Duration::from_std(config.lease).unwrap_or_default();
        let claimed = store
            .claim_due_webhook_deliveries(now, lease_until, config.batch_size)
            .await?;
        if claimed.is_empty() {
            return Ok(outcomes);
        }
        for d in &claimed {
            outcomes.push(deliver_one(store, config, d, now).await?);
        }
    }
}

/// The answer to one attempt.
struct Attempt {
    status: Option<u16>,
    answer: Option<String>,
    error: Option<String>,
    /// Trying again cannot help (the body is too large).
    permanent: bool,
}

async fn deliver_one(
    store: &Store,
    config: &WebhookConfig,
    d: &ClaimedDelivery,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let attempt = if d.enabled {
        attempt(config, d).await
    } else {
        Attempt {
            status: None,
            answer: None,
            error: Some("the endpoint is switched off".into()),
            permanent: true,
        }
    };
    let accepted =
        attempt.error.is_none() && attempt.status.is_some_and(|s| (200..300).contains(&s));
    if accepted {
        let status = i64::from(attempt.status.unwrap_or_default());
        store
            .record_webhook_sent(d, status, attempt.answer.as_deref().unwrap_or(""), now)
            .await?;
        return Ok(Outcome {
            delivery_id: d.id,
            endpoint_id: d.endpoint_id,
            sent: true,
            status: attempt.status,
            error: None,
            will_retry: false,
            switched_off: false,
        });
    }
    let error = attempt.error.clone().unwrap_or_else(|| {
        format!(
            "the receiver answered {}",
            attempt.status.map(|s| s.to_string()).unwrap_or_default()
        )
    });
    let retry_at = (!attempt.permanent && d.attempts < config.max_attempts)
        .then(|| now + chrono::Duration::from_std(config.backoff(d.attempts)).unwrap_or_default());
    tracing::info!(
        webhook_delivery = d.id,
        webhook_endpoint = d.endpoint_id,
        status = attempt.status.unwrap_or_default(),
        attempts = d.attempts,
        will_retry = retry_at.is_some(),
        "webhooks: a delivery was not accepted"
    );
    let mut tx = store.pool().begin().await?;
    let failure = Failure {
        status: attempt.status.map(i64::from),
        answer: attempt.answer.as_deref(),
        error: &error,
        retry_at,
    };
    let switched =
        record_webhook_failure(&mut tx, d, &failure, now, now - config.switch_off_after).await?;
    if let Some(off) = &switched {
        queue_switched_off_emails(&mut tx, config, d, off, now).await?;
    }
    tx.commit().await?;
    if switched.is_some() {
        tracing::warn!(
            webhook_endpoint = d.endpoint_id,
            "webhooks: an endpoint that kept failing was switched off; its organisers are told by email"
        );
    }
    Ok(Outcome {
        delivery_id: d.id,
        endpoint_id: d.endpoint_id,
        sent: false,
        status: attempt.status,
        error: Some(error),
        will_retry: retry_at.is_some(),
        switched_off: switched.is_some(),
    })
}

async fn queue_switched_off_emails(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    config: &WebhookConfig,
    d: &ClaimedDelivery,
    off: &SwitchedOff,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let context = crate::mail::webhook_switched_off::Context {
        trial_name: off.trial_name.clone(),
        endpoint: shown_url(d.kind, &off.url),
        failing_since: off.failing_since.format("%-d %B %Y, %H:%M UTC").to_string(),
        console_link: config
            .base_url
            .join(&format!("admin/trials/{}/webhooks", off.trial_slug))
            .map(|u| u.to_string())
            .unwrap_or_default(),
    };
    let domain = crate::mail::message_domain(&config.base_url);
    for address in &off.organisers {
        match crate::mail::render(&context, address) {
            Ok(email) => {
                outbox::enqueue(tx, &email, &domain, now).await?;
            }
            Err(e) => {
                tracing::error!(error = %crate::telemetry::error_chain(&e), "webhooks: cannot render the email about an endpoint switched off");
            }
        }
    }
    Ok(())
}

/// Checks the address, sends, and reads the beginning of the answer.
async fn attempt(config: &WebhookConfig, d: &ClaimedDelivery) -> Attempt {
    let failed = |error: String, permanent: bool| Attempt {
        status: None,
        answer: None,
        error: Some(error),
        permanent,
    };
    let target = match guard::check(&d.url, config.allow_http_loopback).await {
        Ok(t) => t,
        Err(refused) => return failed(format!("not sent: {refused}"), false),
    };
    let body = if d.kind.is_chat() {
        let announcement = serde_json::from_str::<serde_json::Value>(&d.body)
            .ok()
            .and_then(|v| v["announcement"].as_str().map(str::to_string))
            .unwrap_or_default();
        chat_body(d.kind, &announcement, &config.library_url())
    } else {
        d.body.clone()
    };
    if body.len() > MAX_BODY_BYTES {
        return failed(
            format!("not sent: the body is larger than {MAX_BODY_BYTES} bytes"),
            true,
        );
    }
    let mut builder = reqwest::Client::builder()
        // Every request goes to the address checked, never through a proxy from the
        // environment and never on to where a redirect points.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .user_agent(concat!(
            "coffee-trials-webhooks/",
            env!("CARGO_PKG_VERSION")
        ));
    if matches!(target.url.host(), Some(url::Host::Domain(_))) {
        builder = builder.resolve(&target.host, target.addr);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            return failed(
                format!("cannot set up the HTTP client: {}", e.without_url()),
                false,
            )
        }
    };
    let mut request = client
        .post(target.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if !d.kind.is_chat() {
        let timestamp = Utc::now().timestamp();
        let Some(signature) = sign::signature(&d.secret, &d.message_id, timestamp, &body) else {
            return failed("the endpoint's secret cannot be read".into(), true);
        };
        request = request
            .header("webhook-id", &d.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
    }
    let mut response = match request.body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "no answer in time".to_string()
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else {
                // Without the address, which may hold a secret.
                e.without_url().to_string()
            };
            return failed(why, false);
        }
    };
    let status = response.status().as_u16();
    // Only the beginning of the answer is read: a receiver cannot make us hold a large body.
    let mut answer = Vec::new();
    while answer.len() < ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    answer.truncate(ANSWER_BYTES);
    let answer: String = String::from_utf8_lossy(&answer)
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    Attempt {
        status: Some(status),
        answer: Some(answer),
        error: None,
        permanent: false,
    }
}

/// The running worker; [`WebhookWorker::stop`] ends it.
pub struct WebhookWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WebhookWorker {
    pub fn start(store: Store, config: WebhookConfig) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            while !*stopped.borrow() {
                if let Err(e) = deliver_due(&store, &config, Utc::now()).await {
                    tracing::warn!(error = %crate::telemetry::error_chain(&e), "webhooks: cannot deliver");
                }
                tokio::select! {
                    _ = stopped.changed() => {}
                    _ = tokio::time::sleep(config.idle_poll) => {}
                }
            }
        });
        Self { stop, task }
    }

    /// Stops after the delivery in hand; one cut short is sent again when its lease runs out.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(20), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
