//! The outbox worker: a few sender tasks inside `serve` that claim due messages, send them
//! outside any database transaction and record the outcome.
//!
//! A claim is a lease (`lease_until`), not a lock held across the send: if the process dies
//! mid-send, the message stays `sending` until the lease runs out and is then claimed again.
//! So a SIGKILL loses nothing; at worst a message that was on the wire at that moment goes
//! out twice, with the same Message-ID so that mail programs can tell.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::transport::{SendError, Transport};
use crate::config::Settings;
use crate::store::outbox::ClaimedEmail;
use crate::store::{Store, StoreError};

/// How the worker paces itself. The defaults suit production; tests shorten the waits.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub from: Mailbox,
    /// Sender tasks, each with its own claims; also the size of the SMTP connection pool.
    pub senders: usize,
    /// Messages one sender claims at a time; the lease must cover sending all of them.
    pub batch_size: i64,
    pub lease: Duration,
    /// How often an idle sender looks for due messages.
    pub idle_poll: Duration,
    /// Attempts before a message is marked failed.
    pub max_attempts: i64,
    /// The wait after the first failure; it doubles with each further one, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl WorkerConfig {
    /// Ten attempts over about four hours: a mail server that is down for an afternoon delays
    /// the messages but loses none.
    pub fn new(from: Mailbox) -> Self {
        Self {
            from,
            senders: 8,
            batch_size: 10,
            lease: Duration::from_secs(crate::config::DEFAULT_OUTBOX_LEASE_SECONDS),
            idle_poll: Duration::from_secs(1),
            max_attempts: 10,
            backoff_base: Duration::from_secs(60),
            backoff_max: Duration::from_secs(3600),
        }
    }

    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            lease: settings.outbox_lease,
            ..Self::new(settings.mail_from.clone())
        }
    }

    /// The wait before attempt `attempts + 1`: exponential, with jitter so that messages that
    /// failed together (a server outage) do not all come back at the same instant.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let full = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.backoff_max);
        let half = full / 2;
        half + half.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

/// The running worker; [`Worker::stop`] ends it.
pub struct Worker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// How long stopping waits for sends in flight before abandoning them to their leases.
const STOP_GRACE: Duration = Duration::from_secs(35);

impl Worker {
    pub fn start(store: Store, transport: Transport, config: WorkerConfig) -> Self {
        let (stop, stopped) = watch::channel(false);
        let transport = Arc::new(transport);
        let config = Arc::new(config);
        let mut tasks = JoinSet::new();
        for _ in 0..config.senders.max(1) {
            let (store, transport, config, stopped) = (
                store.clone(),
                transport.clone(),
                config.clone(),
                stopped.clone(),
            );
            tasks.spawn(sender(store, transport, config, stopped));
        }
        Self { stop, tasks }
    }

    /// Lets each sender finish the message in hand, hands back the rest of its claim, and
    /// waits for them.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let all_done = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(STOP_GRACE, all_done).await.is_err() {
            tracing::warn!("outbox: sends still in flight at shutdown; their leases will expire");
            self.tasks.abort_all();
        }
    }
}

async fn sender(
    store: Store,
    transport: Arc<Transport>,
    config: Arc<WorkerConfig>,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        let pause = match deliver_batch(&store, &transport, &config, &stopped).await {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "outbox: cannot claim messages");
                true
            }
        };
        if pause {
            tokio::select! {
                _ = stopped.changed() => {}
                _ = tokio::time::sleep(config.idle_poll) => {}
            }
        }
    }
}

/// Claims one batch and works through it; answers how many messages it claimed.
async fn deliver_batch(
    store: &Store,
    transport: &Transport,
    config: &WorkerConfig,
    stopped: &watch::Receiver<bool>,
) -> Result<usize, StoreError> {
    let now = Utc::now();
    let lease_until = now + chrono::Duration::from_std(config.lease).unwrap_or_default();
    let claimed = store
        .claim_due_emails(now, lease_until, config.batch_size)
        .await?;
    let count = claimed.len();
    for email in claimed {
        if *stopped.borrow() {
            if let Err(e) = store.release_email(&email).await {
                tracing::warn!(outbox_id = email.id, error = %e, "outbox: cannot hand a message back");
            }
            continue;
        }
        deliver_one(store, transport, config, &email).await;
    }
    Ok(count)
}

/// What became of one claimed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    WillRetry,
    Failed,
    /// Another worker took the message over after this one's lease ran out.
    LeaseLost,
}

/// Sends one claimed message and records the outcome. Errors recording it are logged: the
/// lease then runs out and the message is tried again.
pub async fn deliver_one(
    store: &Store,
    transport: &Transport,
    config: &WorkerConfig,
    email: &ClaimedEmail,
) -> Outcome {
    let result = match build_message(&config.from, email) {
        Ok(message) => transport.send(&message, &file_name(email)).await,
        Err(e) => Err(e),
    };
    let now = Utc::now();
    let recorded = match &result {
        Ok(()) => store.mark_email_sent(email, now).await.map(|ok| {
            tracing::debug!(outbox_id = email.id, "outbox: sent");
            (ok, Outcome::Sent)
        }),
        Err(SendError::Permanent {
            error,
            loggable,
            recipient_refused,
        }) => {
            tracing::warn!(outbox_id = email.id, error = %loggable, "outbox: message refused; not retrying");
            let attention = recipient_refused.then(|| {
                format!(
                    "Email to this address was refused on {}: {error}",
                    now.format("%Y-%m-%d %H:%M UTC")
                )
            });
            store
                .mark_email_failed(email, error, attention.as_deref(), now)
                .await
                .map(|ok| (ok, Outcome::Failed))
        }
        Err(SendError::Transient { error, loggable }) if email.attempts >= config.max_attempts => {
            tracing::warn!(outbox_id = email.id, attempts = email.attempts, error = %loggable, "outbox: giving up after the last attempt");
            store
                .mark_email_failed(email, error, None, now)
                .await
                .map(|ok| (ok, Outcome::Failed))
        }
        Err(SendError::Transient { error, loggable }) => {
            let wait = config.backoff(email.attempts);
            tracing::info!(outbox_id = email.id, attempts = email.attempts, retry_in_s = wait.as_secs_f64(), error = %loggable, "outbox: will retry");
            let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
            store
                .schedule_email_retry(email, error, next)
                .await
                .map(|ok| (ok, Outcome::WillRetry))
        }
    };
    match recorded {
        Ok((true, outcome)) => outcome,
        Ok((false, _)) => {
            tracing::info!(
                outbox_id = email.id,
                "outbox: lease ran out during the send"
            );
            Outcome::LeaseLost
        }
        Err(e) => {
            tracing::warn!(outbox_id = email.id, error = %crate::telemetry::error_chain(&e), "outbox: cannot record the outcome");
            Outcome::LeaseLost
        }
    }
}

/// `000042-<message id>.eml`: sorted in the order they were queued.
fn file_name(email: &ClaimedEmail) -> String {
    let id: String = email
        .message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '-' | '_'))
        .collect();
    format!("{:06}-{id}.eml", email.id)
}

#[derive(serde::Deserialize)]
struct AttachmentRow {
    filename: String,
    content_type: String,
    content: String,
}

/// Headers the message builder sets itself; the JSON may not replace them.
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "sender",
];

/// The MIME message for an outbox row: text and HTML as alternatives, any attachments beside
/// them, the row's Message-ID and extra headers. A row that cannot be built never will be, so
/// the error is permanent.
pub fn build_message(from: &Mailbox, email: &ClaimedEmail) -> Result<Message, SendError> {
    let to: Mailbox = email
        .to_address
        .parse()
        .map_err(|e| SendError::permanent(format!("the address cannot be used: {e}"), true))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()));
    let headers: BTreeMap<String, String> =
        serde_json::from_str(&email.headers_json).map_err(|e| {
            SendError::permanent(
                format!("headers_json is not an object of strings: {e}"),
                false,
            )
        })?;
    for (name, value) in headers {
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(SendError::permanent(
                format!("headers_json may not set {name}"),
                false,
            ));
        }
        if value.contains(['\r', '\n']) {
            return Err(SendError::permanent(
                format!("headers_json: the value of {name} spans lines"),
                false,
            ));
        }
        let header = HeaderName::new_from_ascii(name.clone()).map_err(|_| {
            SendError::permanent(
                format!("headers_json: '{name}' is not a header name"),
                false,
            )
        })?;
        builder = builder.raw_header(HeaderValue::new(header, value));
    }
    let attachments: Vec<AttachmentRow> =
        serde_json::from_str(&email.attachments_json).map_err(|e| {
            SendError::permanent(
                format!(
                    "attachments_json is not a list of {{filename, content_type, content}}: {e}"
                ),
                false,
            )
        })?;
    let text = SinglePart::plain(email.body_text.clone());
    let alternative = (!email.body_html.is_empty()).then(|| {
        MultiPart::alternative()
            .singlepart(text.clone())
            .singlepart(SinglePart::html(email.body_html.clone()))
    });
    let built = match (alternative, attachments.is_empty()) {
        (Some(alternative), true) => builder.multipart(alternative),
        (None, true) => builder.singlepart(text),
        (alternative, false) => {
            let mut mixed = match alternative {
                Some(alternative) => MultiPart::mixed().multipart(alternative),
                None => MultiPart::mixed().singlepart(text),
            };
            for a in attachments {
                let content_type = ContentType::parse(&a.content_type).map_err(|e| {
                    SendError::permanent(
                        format!("attachment {}: bad content type: {e}", a.filename),
                        false,
                    )
                })?;
                mixed = mixed.singlepart(Attachment::new(a.filename).body(a.content, content_type));
            }
            builder.multipart(mixed)
        }
    };
    built.map_err(|e| SendError::permanent(format!("cannot build the message: {e}"), false))
}
