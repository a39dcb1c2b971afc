//! `organiser` and `trial` subcommands: the console's actions for the command line.
use chrono::Utc;

use super::{error_chain, OrganiserCommand, RoundCommand, TrialCommand};
use crate::app::rounds::{self, RunNowError};
use crate::app::{organisers, trials};
use crate::config::Settings;
use crate::domain::{TrialInput, TrialSettings};
use crate::store::trials::SaveTrialError;
use crate::store::Store;

async fn open(settings: &Settings) -> Result<Store, String> {
    crate::app::system::open(&settings.database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: {}", error_chain(&e)))
}

pub async fn organiser(settings: Settings, command: OrganiserCommand) -> Result<(), String> {
    let store = open(&settings).await?;
    match command {
        OrganiserCommand::Add { email, admin } => {
            let link =
                crate::app::accounts::invite_organiser(&store, &settings.base_url, &email, admin)
                    .await
                    .map_err(|e| format!("organiser add: {}", error_chain(&e)))?;
            println!("Invitation for {} queued in the outbox.", email.trim());
            if settings.smtp_url.is_none() {
                println!(
                    "No SMTP_URL is set, so pass the link on yourself (valid for 7 days):\n{link}"
                );
            }
        }
        OrganiserCommand::List => {
            let found = organisers::list(&store)
                .await
                .map_err(|e| error_chain(&e))?;
            for o in found {
                println!(
                    "{}\t{}\t{}\tlast signed in {}",
                    o.email,
                    if o.is_admin() { "admin" } else { "organiser" },
                    if o.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "enabled"
                    },
                    o.last_login_at
                        .map(crate::store::time::to_db)
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        OrganiserCommand::Disable { email } => {
            let found = existing_organiser(&store, &email).await?;
            organisers::disable(&store, found.id, Utc::now())
                .await
                .map_err(|e| format!("organiser disable: {}", error_chain(&e)))?;
            println!(
                "Disabled {}; their sessions and API tokens no longer work.",
                found.email
            );
        }
        OrganiserCommand::Enable { email } => {
            let found = existing_organiser(&store, &email).await?;
            organisers::enable(&store, found.id)
                .await
                .map_err(|e| error_chain(&e))?;
            println!("{} can sign in again.", found.email);
        }
        OrganiserCommand::Reset { email } => {
            let send_email = settings.smtp_url.is_some();
            let link = crate::app::accounts::request_password_reset(
                &store,
                &settings.base_url,
                &email,
                send_email,
            )
            .await
            .map_err(|e| format!("organiser reset: {}", error_chain(&e)))?
            .ok_or("organiser reset: there is no enabled organiser with this email address")?;
            if send_email {
                println!("A link to choose a new password is queued in the outbox.");
            } else {
                println!(
                    "No SMTP_URL is set, so pass this link on yourself (it works once, for {} minutes):\n{link}",
                    crate::app::accounts::RESET_LINK_MINUTES
                );
            }
        }
        OrganiserCommand::Token {
            email,
            name,
            expires_on,
        } => {
            let found = existing_organiser(&store, &email).await?;
            if found.disabled_at.is_some() {
                return Err(format!(
                    "organiser token: {} is disabled; enable the account first",
                    found.email
                ));
            }
            let token = crate::app::sessions::create_api_token(
                &store,
                found.id,
                &name,
                &expires_on,
                Utc::now(),
            )
            .await
            .map_err(|e| format!("organiser token: {}", error_chain(&e)))?;
            eprintln!(
                "API token for {} (shown only this once; send it as Authorization: Bearer <token>):",
                found.email
            );
            println!("{token}");
        }
    }
    store.close().await;
    Ok(())
}

async fn existing_organiser(
    store: &Store,
    email: &str,
) -> Result<crate::store::organisers::OrganiserSummary, String> {
    organisers::find_by_email(store, email)
        .await
        .map_err(|e| error_chain(&e))?
        .ok_or_else(|| "there is no organiser with this email address".to_string())
}

pub async fn trial(settings: Settings, command: TrialCommand) -> Result<(), String> {
    let store = open(&settings).await?;
    match command {
        TrialCommand::Create {
            name,
            slug,
            attribute,
            event,
            date,
            place,
            rounds,
            minutes,
        } => {
            let input = TrialInput {
                name,
                slug,
                attribute_name: attribute.unwrap_or_default(),
                kind: if event { "event" } else { "programme" }.into(),
                event_date: date.unwrap_or_default(),
                event_place: place.unwrap_or_default(),
                event_planned_rounds: rounds.unwrap_or_default(),
                event_round_minutes: minutes.unwrap_or_default(),
                ..Default::default()
            };
            let settings_for_trial = TrialSettings::try_from(&input).map_err(|errors| {
                errors
                    .iter()
                    .map(|e| format!("--{}: {}", flag_for(e.field), e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            let trial = trials::create(&store, &settings_for_trial, Utc::now())
                .await
                .map_err(|e| match e {
                    SaveTrialError::SlugTaken => {
                        "--slug: another trial already uses this address".to_string()
                    }
                    other => error_chain(&other),
                })?;
            println!(
                "Created trial '{}' ({}); sign-up page: {}",
                trial.name,
                trial.kind,
                crate::links::link(&settings.base_url, &format!("/t/{}", trial.slug))
            );
            if trial.is_event() {
                println!(
                    "Poster with its QR code: {}",
                    crate::links::link(&settings.base_url, &format!("/t/{}/poster", trial.slug))
                );
            }
        }
        TrialCommand::List => {
            let found = trials::list(&store).await.map_err(|e| error_chain(&e))?;
            if found.is_empty() {
                println!("No trials yet.");
            }
            for t in found {
                println!(
                    "{}\t{}\t{}\t{}\t{} participants\t{} rounds",
                    t.slug,
                    t.name,
                    t.kind,
                    if t.open_for_signup { "open" } else { "closed" },
                    t.participants,
                    t.rounds
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

/// The command-line flag for a field of the trial settings.
fn flag_for(field: &str) -> String {
    match field {
        "event_date" => "date".into(),
        "event_place" => "place".into(),
        "event_planned_rounds" => "rounds".into(),
        "event_round_minutes" => "minutes".into(),
        other => other.replace('_', "-"),
    }
}

pub async fn round(settings: Settings, command: RoundCommand) -> Result<(), String> {
    let store = open(&settings).await?;
    let RoundCommand::Run {
        trial,
        dry_run,
        seed,
    } = command;
    let organiser = crate::mail::pairing::Organiser::from_mailbox(&settings.mail_from);
    let done = rounds::run_now(
        &store,
        &trial,
        seed.unwrap_or_else(rand::random),
        dry_run,
        &settings.base_url,
        &organiser,
        Utc::now(),
    )
    .await
    .map_err(|e| match e {
        RunNowError::NoSuchTrial(_) => format!("--trial: {e}"),
        e => error_chain(&e),
    })?;
    print_round(&done.trial_name, &done.round);
    match done.emails_queued {
        None => println!("Dry run: nothing was saved or sent."),
        Some(n) => println!("Published; {n} pairing emails queued in the outbox."),
    }
    store.close().await;
    Ok(())
}

fn print_round(trial_name: &str, round: &crate::app::rounds::RoundPreview) {
    println!(
        "Round {} of {} (seed {}): {} groups",
        round.number,
        trial_name,
        round.seed,
        round.groups.len()
    );
    for g in &round.groups {
        let names: Vec<String> = g
            .members
            .iter()
            .map(|(name, attribute)| format!("{name} ({attribute})"))
            .collect();
        println!("  {:>3}. {}  [{}]", g.position, names.join(" + "), g.reason);
    }
    for u in &round.unplaced {
        println!("  not placed: {}", u.why);
    }
}
