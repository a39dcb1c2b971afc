//! `participants import`: the console's CSV import for the command line.
use std::io::IsTerminal;
use std::path::Path;

use chrono::Utc;

use super::{error_chain, ParticipantsCommand};
use crate::config::Settings;
use crate::domain::MembershipState;
use crate::store::Store;

pub async fn run(settings: Settings, command: ParticipantsCommand) -> Result<(), String> {
    match command {
        ParticipantsCommand::Import {
            trial,
            file,
            consent,
            skip_problems,
            dry_run,
        } => import(&settings, &trial, &file, consent, skip_problems, dry_run).await,
    }
}

async fn import(
    settings: &Settings,
    slug: &str,
    file: &Path,
    consent: bool,
    skip_problems: bool,
    dry_run: bool,
) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let store = Store::connect(&settings.database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: {}", error_chain(&e)))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("DATABASE_URL: {}", error_chain(&e)))?;
    let result = import_into(
        &store,
        &settings.base_url,
        slug,
        file,
        &bytes,
        consent,
        skip_problems,
        dry_run,
    )
    .await;
    store.close().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn import_into(
    store: &Store,
    base_url: &url::Url,
    slug: &str,
    file: &Path,
    bytes: &[u8],
    consent: bool,
    skip_problems: bool,
    dry_run: bool,
) -> Result<(), String> {
    let trial = store
        .find_trial(slug)
        .await
        .map_err(|e| error_chain(&e))?
        .ok_or_else(|| format!("--trial: there is no trial with the short address '{slug}'"))?;
    let parsed =
        crate::app::import::parse(bytes, &trial.attribute_name, &trial.attribute_value_list())
            .map_err(|e| format!("{}: {e}", file.display()))?;
    let existing = store
        .member_emails(trial.id)
        .await
        .map_err(|e| error_chain(&e))?;
    let (already, to_add): (Vec<_>, Vec<_>) = parsed
        .accepted
        .into_iter()
        .partition(|r| existing.contains(r.details.email.as_str()));

    println!(
        "{}: {} to add, {} already in '{}', {} with problems",
        file.display(),
        to_add.len(),
        already.len(),
        trial.slug,
        parsed.problems.len()
    );
    if !parsed.ignored_columns.is_empty() {
        println!(
            "Columns not imported: {}",
            parsed.ignored_columns.join(", ")
        );
    }
    for p in &parsed.problems {
        eprintln!("row {}: {}", p.row, p.reasons.join("; "));
    }
    if !parsed.problems.is_empty() && !skip_problems {
        return Err(format!(
            "nothing was imported: {} rows have problems (listed above); fix them, or run again with --skip-problems to import the other rows",
            parsed.problems.len()
        ));
    }
    if dry_run {
        println!("Dry run: nothing was saved.");
        return Ok(());
    }
    if to_add.is_empty() {
        println!("Nobody to add.");
        return Ok(());
    }

    let now = Utc::now();
    let (state, consent_at) = if consent {
        (MembershipState::Active, Some(now))
    } else {
        (MembershipState::Pending, None)
    };
    let people: Vec<_> = to_add.into_iter().map(|r| r.details).collect();
    let total = people.len();
    let counts = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let progress_bar = bar.clone();
        let mut report = move |done: usize| progress_bar.set_position(done as u64);
        let result = store
            .import_members(trial.id, &people, state, consent_at, now, &mut report)
            .await;
        bar.finish_and_clear();
        result
    } else {
        // Plain lines for logs: about every tenth of the file.
        let step = (total / 10).max(1000);
        let mut report = move |done: usize| {
            if done % step == 0 && done < total {
                eprintln!("imported {done} of {total} rows");
            }
        };
        store
            .import_members(trial.id, &people, state, consent_at, now, &mut report)
            .await
    }
    .map_err(|e| {
        format!(
            "the import failed and nothing was saved: {}",
            error_chain(&e)
        )
    })?;
    if !consent {
        let sent = crate::app::participants::queue_missing_confirmations(
            store,
            base_url,
            &trial,
            Utc::now(),
        )
        .await
        .map_err(|e| {
            format!("the people were added, but queueing their confirmation emails failed: {e}")
        })?;
        println!("{sent} confirmation emails queued in the outbox.");
    }
    println!(
        "Added {} people to '{}' as {}.",
        counts.added,
        trial.slug,
        if consent {
            "active (consent stated)"
        } else {
            "pending: they confirm by email before they are paired"
        }
    );
    Ok(())
}
