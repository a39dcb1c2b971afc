//! The outbox worker: a few sender tasks inside `serve` that claim due messages, send them
//! outside any database transaction and record the outcome.
//!
//! A claim is a lease (`lease_until`), not a lock held across the send: if the process dies
//! mid-send, the message stays `sending` until the lease runs out and is then claimed again.
//! So a SIGKILL loses nothing; at worst a message that was on the wire at that moment goes
//! out twice, with the same Message-ID so that mail programs can tell.
//!
//! The lease covers the work in hand: it is renewed just before each send and while the
//! send lasts, so a slow mail server cannot make two senders send the same message. A
//! message the server took but did not confirm (a timeout after the data went out) has an
//! unknown outcome and is tried again only after `unknown_wait`. When an outcome cannot be
//! recorded (the database is away), the sender keeps trying to record it and every sender of
//! the process stops sending until it has.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::foreground::GiveWay;
use super::recorder::SentRecorder;
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
    /// The least wait after a send whose outcome is unknown (the server took the message but
    /// did not answer): sending it again at once would likely deliver it twice.
    pub unknown_wait: Duration,
    /// How the senders give way to a burst of sign-ups; see [`super::foreground`].
    pub give_way: GiveWay,
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
            unknown_wait: Duration::from_secs(30 * 60),
            give_way: GiveWay::default(),
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
        let health = Arc::new(Health::default());
        let mut tasks = JoinSet::new();
        let recorder = Arc::new(SentRecorder::start(store.clone()));
        for _ in 0..config.senders.max(1) {
            let (store, transport, config, health, recorder, stopped) = (
                store.clone(),
                transport.clone(),
                config.clone(),
                health.clone(),
                recorder.clone(),
                stopped.clone(),
            );
            tasks.spawn(sender(store, transport, config, health, recorder, stopped));
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

/// What the senders of one process share: whether delivery is failing (to log it once, not
/// once per message) and whether an outcome is waiting to be recorded (then nobody sends).
#[derive(Default)]
pub struct Health {
    failing: Mutex<Failing>,
    /// Sends whose outcome could not be recorded yet because the database is unreachable.
    unrecorded: AtomicUsize,
}

#[derive(Default)]
struct Failing {
    since: Option<chrono::DateTime<Utc>>,
    failures: u64,
    /// Whether the database's record has been brought in line since this process started.
    synced: bool,
}

impl Health {
    fn database_trouble(&self) -> bool {
        self.unrecorded.load(Ordering::SeqCst) > 0
    }

    /// A send failed for a reason that is not the message's own (the server is away, busy,
    /// or did not answer): the first one logs a WARN and is recorded for the outbox page.
    async fn failed(&self, store: &Store, loggable: &str) {
        let started = {
            let mut f = self.failing.lock().unwrap_or_else(|e| e.into_inner());
            f.failures += 1;
            match f.since {
                Some(_) => None,
                None => {
                    let now = Utc::now();
                    f.since = Some(now);
                    f.synced = true;
                    Some(now)
                }
            }
        };
        if let Some(since) = started {
            metrics::gauge!("outbox_delivery_failing").set(1.0);
            tracing::warn!(error = %loggable, "outbox: delivery is failing; messages wait and are tried again (this is logged once, until it works again)");
            if let Err(e) = store
                .set_delivery_failing(Some((&since, loggable)), Utc::now())
                .await
            {
                tracing::debug!(error = %e, "outbox: cannot record that delivery is failing");
            }
        }
    }

    /// A message went out: if delivery had been failing, one INFO says it recovered.
    async fn worked(&self, store: &Store) {
        let (recovered, sync) = {
            let mut f = self.failing.lock().unwrap_or_else(|e| e.into_inner());
            let recovered = f.since.take().map(|since| (since, f.failures));
            f.failures = 0;
            let sync = !f.synced || recovered.is_some();
            f.synced = true;
            (recovered, sync)
        };
        if let Some((since, failures)) = recovered {
            metrics::gauge!("outbox_delivery_failing").set(0.0);
            tracing::info!(
                failing_since = %since.format("%Y-%m-%d %H:%M:%S UTC"),
                failed_attempts = failures,
                "outbox: delivery works again"
            );
        }
        if sync {
            if let Err(e) = store.set_delivery_failing(None, Utc::now()).await {
                tracing::debug!(error = %e, "outbox: cannot record that delivery works");
                self.failing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .synced = false;
            }
        }
    }
}

async fn sender(
    store: Store,
    transport: Arc<Transport>,
    config: Arc<WorkerConfig>,
    health: Arc<Health>,
    recorder: Arc<SentRecorder>,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        give_way(&config.give_way, &mut stopped).await;
        let pause = if health.database_trouble() {
            true
        } else {
            match deliver_batch(&store, &transport, &config, &health, &recorder, &stopped).await {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(error = %crate::telemetry::error_chain(&e), "outbox: cannot claim messages");
                    true
                }
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

/// Waits while sign-ups arrive in a crowd, pause by pause, up to `longest`.
async fn give_way(give_way: &GiveWay, stopped: &mut watch::Receiver<bool>) {
    let start = tokio::time::Instant::now();
    while give_way.foreground.is_busy_at(std::time::Instant::now())
        && start.elapsed() < give_way.longest
        && !*stopped.borrow()
    {
        tokio::select! {
            _ = stopped.changed() => {}
            _ = tokio::time::sleep(give_way.pause) => {}
        }
    }
}

/// Claims one batch and works through it; answers how many messages it claimed. Each
/// message's lease is renewed just before it is sent (and while it is being sent), so a
/// message waiting its turn behind slow ones can be taken over by another sender, and the
/// one in hand never is.
async fn deliver_batch(
    store: &Store,
    transport: &Transport,
    config: &WorkerConfig,
    health: &Health,
    recorder: &SentRecorder,
    stopped: &watch::Receiver<bool>,
) -> Result<usize, StoreError> {
    let now = Utc::now();
    let lease_until = now + chrono::Duration::from_std(config.lease).unwrap_or_default();
    let claimed = store
        .claim_due_emails(now, lease_until, config.batch_size)
        .await?;
    let count = claimed.len();
    let mut database_away = false;
    for email in claimed {
        database_away = database_away || health.database_trouble();
        if database_away {
            // Left to its lease: it lapses and the message is claimed again later. Trying to
            // hand it back now would only wait on the database once per message.
            continue;
        }
        if *stopped.borrow() {
            // Handed back unsent; if even that fails, its lease runs out and it is claimed
            // again later.
            if let Err(e) = store.release_email(&email).await {
                tracing::debug!(outbox_id = email.id, error = %e, "outbox: cannot hand a message back");
            }
            continue;
        }
        if deliver_claimed(store, transport, config, health, Some(recorder), email).await
            == Outcome::NotSent
        {
            database_away = true;
        }
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
    /// The server may or may not have it: tried again only after `unknown_wait`.
    Unknown,
    /// Not sent: the lease could not be renewed because the database is unreachable.
    NotSent,
}

/// Sends one claimed message and records the outcome (for tests and tools that drive the
/// outbox by hand; the worker's senders share their [`Health`]).
pub async fn deliver_one(
    store: &Store,
    transport: &Transport,
    config: &WorkerConfig,
    email: &ClaimedEmail,
) -> Outcome {
    deliver_claimed(
        store,
        transport,
        config,
        &Health::default(),
        None,
        email.clone(),
    )
    .await
}

/// Renews the lease, sends while keeping it renewed, and records the outcome, waiting for the
/// database to come back if it cannot be recorded: a send whose outcome is not recorded
/// would be sent again once its lease ran out.
async fn deliver_claimed(
    store: &Store,
    transport: &Transport,
    config: &WorkerConfig,
    health: &Health,
    recorder: Option<&SentRecorder>,
    mut email: ClaimedEmail,
) -> Outcome {
    match renew_unless_fresh(store, config, &mut email).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(
                outbox_id = email.id,
                "outbox: another sender took this message over"
            );
            return Outcome::LeaseLost;
        }
        Err(e) => {
            tracing::warn!(outbox_id = email.id, error = %crate::telemetry::error_chain(&e), "outbox: cannot renew a lease; not sending until the database answers");
            return Outcome::NotSent;
        }
    }
    let result = match build_message(&config.from, &email) {
        Ok(message) => send_holding_lease(store, transport, config, &mut email, &message).await,
        Err(e) => Err(e),
    };
    let class = match &result {
        Ok(()) => "sent",
        Err(SendError::Transient { .. }) => "transient",
        Err(SendError::Unknown { .. }) => "unknown",
        Err(SendError::Permanent { .. }) => "permanent",
    };
    metrics::counter!("outbox_send_attempts_total", "result" => class).increment(1);
    match &result {
        Ok(()) => health.worked(store).await,
        Err(SendError::Transient { loggable, .. } | SendError::Unknown { loggable, .. }) => {
            health.failed(store, loggable).await
        }
        Err(SendError::Permanent { .. }) => {}
    }
    let mut trouble = false;
    let mut wait = Duration::from_millis(100);
    let recorded = loop {
        match record(store, recorder, config, &email, &result).await {
            Ok(recorded) => break recorded,
            Err(e) => {
                if !trouble {
                    trouble = true;
                    health.unrecorded.fetch_add(1, Ordering::SeqCst);
                    tracing::warn!(outbox_id = email.id, error = %crate::telemetry::error_chain(&e), "outbox: cannot record the outcome of a send; sending stops until the database is back");
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    };
    if trouble {
        health.unrecorded.fetch_sub(1, Ordering::SeqCst);
        tracing::info!(
            outbox_id = email.id,
            "outbox: the database is back; the outcome is recorded and sending resumes"
        );
    }
    match recorded {
        (true, outcome) => outcome,
        (false, _) => {
            tracing::info!(
                outbox_id = email.id,
                "outbox: lease ran out during the send"
            );
            Outcome::LeaseLost
        }
    }
}

/// Renews the lease before a send, unless more than half of it is left (the message was
/// claimed a moment ago): nobody can have taken it over then, and a renewal would only be one
/// more write per message, which on SQLite queues behind everyone else's.
async fn renew_unless_fresh(
    store: &Store,
    config: &WorkerConfig,
    email: &mut ClaimedEmail,
) -> Result<bool, StoreError> {
    let half = chrono::Duration::from_std(config.lease / 2).unwrap_or_default();
    let fresh = crate::store::time::from_db(&email.lease_until)
        .is_some_and(|until| until - Utc::now() > half);
    if fresh {
        return Ok(true);
    }
    store.renew_email_lease(email, lease_from_now(config)).await
}

fn lease_from_now(config: &WorkerConfig) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(config.lease).unwrap_or_default()
}

/// Sends, renewing the lease every third of its length meanwhile: a slow server (RFC 5321
/// allows ten minutes for the final reply) cannot make another sender take the message over.
async fn send_holding_lease(
    store: &Store,
    transport: &Transport,
    config: &WorkerConfig,
    email: &mut ClaimedEmail,
    message: &Message,
) -> Result<(), SendError> {
    let name = file_name(email);
    let every = (config.lease / 3).max(Duration::from_millis(50));
    let id = email.id;
    let renew = async {
        loop {
            tokio::time::sleep(every).await;
            match store.renew_email_lease(email, lease_from_now(config)).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(outbox_id = id, "outbox: lost the lease while sending")
                }
                Err(e) => {
                    tracing::debug!(outbox_id = id, error = %e, "outbox: cannot renew the lease while sending")
                }
            }
        }
    };
    tokio::select! {
        sent = transport.send(message, &name) => sent,
        () = renew => unreachable!("the renewal loop never ends"),
    }
}

/// Records what became of a send: `(whether the lease still held, the outcome)`.
async fn record(
    store: &Store,
    recorder: Option<&SentRecorder>,
    config: &WorkerConfig,
    email: &ClaimedEmail,
    result: &Result<(), SendError>,
) -> Result<(bool, Outcome), StoreError> {
    let now = Utc::now();
    Ok(match result {
        Ok(()) => {
            tracing::debug!(outbox_id = email.id, "outbox: sent");
            let recorded = match recorder {
                Some(recorder) => recorder.mark_sent(email, now).await?,
                None => store.mark_email_sent(email, now).await?,
            };
            (recorded, Outcome::Sent)
        }
        Err(SendError::Permanent {
            error,
            loggable,
            recipient_refused,
        }) => {
            let attention = recipient_refused.then(|| {
                format!(
                    "Email to this address was refused on {}: {error}",
                    now.format("%Y-%m-%d %H:%M UTC")
                )
            });
            let ok = store
                .mark_email_failed(email, error, attention.as_deref(), now)
                .await?;
            if ok {
                metrics::counter!("outbox_given_up_total", "class" => "refused").increment(1);
                tracing::error!(outbox_id = email.id, error = %loggable, "outbox: message refused by the mail server; given up");
            }
            (ok, Outcome::Failed)
        }
        Err(SendError::Transient { error, loggable } | SendError::Unknown { error, loggable })
            if email.attempts >= config.max_attempts =>
        {
            let ok = store.mark_email_failed(email, error, None, now).await?;
            if ok {
                metrics::counter!("outbox_given_up_total", "class" => "attempts").increment(1);
                tracing::error!(outbox_id = email.id, attempts = email.attempts, error = %loggable, "outbox: giving up on a message after its last attempt");
            }
            (ok, Outcome::Failed)
        }
        Err(SendError::Transient { error, loggable }) => {
            let wait = config.backoff(email.attempts);
            tracing::debug!(outbox_id = email.id, attempts = email.attempts, retry_in_s = wait.as_secs_f64(), error = %loggable, "outbox: will retry");
            let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
            (
                store.schedule_email_retry(email, error, next).await?,
                Outcome::WillRetry,
            )
        }
        Err(SendError::Unknown { error, loggable }) => {
            let wait = config.backoff(email.attempts).max(config.unknown_wait);
            tracing::warn!(outbox_id = email.id, attempts = email.attempts, retry_in_s = wait.as_secs_f64(), error = %loggable, "outbox: the mail server did not confirm a message it was sent; it may have been delivered, and is tried again only later");
            let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
            let error = format!(
                "Outcome unknown: {error}. The message may have been delivered; it is tried again (with the same Message-ID) at the earliest {}",
                next.format("%Y-%m-%d %H:%M UTC")
            );
            (
                store.schedule_email_retry(email, &error, next).await?,
                Outcome::Unknown,
            )
        }
    })
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
