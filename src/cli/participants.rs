//! `participants import`: the console's CSV import for the command line.
use std::io::IsTerminal;
use std::path::Path;

use chrono::Utc;

use super::{error_chain, ParticipantsCommand};
use crate::app::import::{self, PreviewError};
use crate::config::Settings;
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
    let store = crate::app::system::open_for_bulk_work(&settings.database_url)
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
    let trial = crate::app::trials::find(store, slug)
        .await
        .map_err(|e| error_chain(&e))?
        .ok_or_else(|| format!("--trial: there is no trial with the short address '{slug}'"))?;
    let preview = import::preview(store, &trial, bytes)
        .await
        .map_err(|e| match e {
            PreviewError::File(e) => format!("{}: {e}", file.display()),
            PreviewError::Store(e) => error_chain(&e),
        })?;
    println!(
        "{}: {} to add, {} already in '{}', {} with problems",
        file.display(),
        preview.to_add.len(),
        preview.already.len(),
        trial.slug,
        preview.problems.len()
    );
    if !preview.ignored_columns.is_empty() {
        println!(
            "Columns not imported: {}",
            preview.ignored_columns.join(", ")
        );
    }
    for p in &preview.problems {
        eprintln!("row {}: {}", p.row, p.reasons.join("; "));
    }
    if !preview.problems.is_empty() && !skip_problems {
        return Err(format!(
            "nothing was imported: {} rows have problems (listed above); fix them, or run again with --skip-problems to import the other rows",
            preview.problems.len()
        ));
    }
    if dry_run {
        println!("Dry run: nothing was saved.");
        return Ok(());
    }
    if preview.to_add.is_empty() {
        println!("Nobody to add.");
    }

    // Whatever is left to add, the import runs: it also queues the confirmation emails that
    // an interrupted run left unqueued.
    let people: Vec<_> = preview.to_add.into_iter().map(|r| r.details).collect();
    let total = people.len();
    let commit = async |report: &mut (dyn FnMut(usize) + Send)| {
        import::commit(
            store,
            base_url,
            &trial,
            &people,
            consent,
            None,
            Utc::now(),
            report,
        )
        .await
    };
    let imported = if std::io::stderr().is_terminal() && total > 0 {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} people ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let progress_bar = bar.clone();
        let result = commit(&mut move |done: usize| progress_bar.set_position(done as u64)).await;
        bar.finish_and_clear();
        result
    } else {
        // Plain lines for logs: about every tenth of the file.
        let step = (total / 10).max(1000);
        let mut next = step;
        commit(&mut move |done: usize| {
            if done >= next && done < total {
                eprintln!("imported {done} of {total} rows, with their confirmation emails");
                next = (done / step + 1) * step;
            }
        })
        .await
    }
    .map_err(|e| {
        format!(
            "the import stopped: {} people were added (with their confirmation emails) before {}; run the same command again to add the rest",
            e.done.counts.added,
            error_chain(&e.source)
        )
    })?;
    if imported.confirmations > 0 {
        println!(
            "{} confirmation emails queued in the outbox.",
            imported.confirmations
        );
    }
    if imported.counts.added > 0 {
        println!(
            "Added {} people to '{}' as {}.",
            imported.counts.added,
            trial.slug,
            if consent {
                "active (consent stated)"
            } else {
                "pending: they confirm by email before they are paired"
            }
        );
    }
    Ok(())
}
