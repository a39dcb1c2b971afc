//! `outbox retry` and `outbox status`: the console's outbox page for the command line.
use chrono::Utc;

use super::{error_chain, OutboxCommand};
use crate::config::Settings;
use crate::store::Store;

pub async fn run(settings: Settings, command: OutboxCommand) -> Result<(), String> {
    let store = crate::app::system::open(&settings.database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: {}", error_chain(&e)))?;
    let result = match command {
        OutboxCommand::Retry => retry(&store).await,
        OutboxCommand::Status => status(&store).await,
    };
    store.close().await;
    result
}

async fn retry(store: &Store) -> Result<(), String> {
    let n = crate::app::outbox::retry_waiting_now(store, Utc::now())
        .await
        .map_err(|e| error_chain(&e))?;
    println!("{n} waiting emails are due now; a running service sends them within seconds.");
    Ok(())
}

async fn status(store: &Store) -> Result<(), String> {
    let state = crate::app::outbox::state(store, 0)
        .await
        .map_err(|e| error_chain(&e))?;
    let p = state.counts;
    println!(
        "waiting {}, being sent {}, sent {}, failed {}",
        p.queued, p.sending, p.sent, p.failed
    );
    if let Some(f) = state.failing {
        println!(
            "delivery failing since {}: {}",
            crate::store::time::to_db(f.failing_since),
            f.last_error.unwrap_or_default()
        );
    }
    Ok(())
}
