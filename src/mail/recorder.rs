//! The senders' "sent" records, written together.
//!
//! Every message that goes out is recorded before its sender takes the next one, so that a
//! crash sends at most the message in hand twice. One statement per message, though, made
//! the senders' bookkeeping most of the writes on SQLite's single writer: sign-ups queued
//! behind a steady stream of one-row updates. So a sender hands its record to this task and
//! waits for it, as before; the task writes every record that has queued up meanwhile (one
//! per sender at most) with one statement, and answers each.
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::store::outbox::ClaimedEmail;
use crate::store::{Store, StoreError};

struct Sent {
    id: i64,
    lease_until: String,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// Records of messages sent, written in batches by one task that ends with the last handle.
pub struct SentRecorder {
    store: Store,
    queue: mpsc::Sender<Sent>,
}

/// Far more than there are senders: a sender waits for its record, so a batch is never bigger
/// than the number of senders.
const MAX_BATCH: usize = 64;

impl SentRecorder {
    pub fn start(store: Store) -> Self {
        let (queue, sent) = mpsc::channel(MAX_BATCH);
        tokio::spawn(write_batches(store.clone(), sent));
        Self { store, queue }
    }

    /// As [`Store::mark_email_sent`]: false when the lease was lost to another sender.
    pub async fn mark_sent(
        &self,
        email: &ClaimedEmail,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sent = Sent {
            id: email.id,
            lease_until: email.lease_until.clone(),
            now,
            reply,
        };
        if self.queue.send(sent).await.is_err() {
            return self.store.mark_email_sent(email, now).await;
        }
        match answer.await {
            Ok(recorded) => recorded,
            // The task is gone (the runtime is stopping): record it here.
            Err(_) => self.store.mark_email_sent(email, now).await,
        }
    }
}

async fn write_batches(store: Store, mut sent: mpsc::Receiver<Sent>) {
    while let Some(first) = sent.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match sent.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let now = batch.iter().map(|s| s.now).max().unwrap_or_else(Utc::now);
        let rows: Vec<(i64, &str)> = batch
            .iter()
            .map(|s| (s.id, s.lease_until.as_str()))
            .collect();
        match store.mark_emails_sent(&rows, now).await {
            Ok(recorded) => {
                for s in batch {
                    let _ = s.reply.send(Ok(recorded.contains(&s.id)));
                }
            }
            // Each one again on its own, so that each sender gets its own answer (and error).
            Err(_) => {
                for s in batch {
                    let one = store
                        .mark_emails_sent(&[(s.id, s.lease_until.as_str())], s.now)
                        .await
                        .map(|recorded| recorded.contains(&s.id));
                    let _ = s.reply.send(one);
                }
            }
        }
    }
}
