//! Command-line interface: `serve` (the default), `migrate`, `match`, and the console's actions
//! for scripts (`organiser`, `trial`, `round`, `participants`).
//!
//! Layer: like `web`, a translator. Each command parses its flags, calls `app::` (the store is
//! opened with `app::system::open` and only passed along, then closed) and prints the answer.
//! May import: `app`, `config`, `startup`, `links`, `domain`, `telemetry` and the row types of
//! `store`; never a `Store` method or SQL (tests/api/architecture.rs checks both).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{RawSettings, Settings};
use crate::startup::Application;

mod admin;
pub mod match_cmd;
mod outbox;
mod participants;

#[derive(Debug, Parser)]
#[command(
    name = "coffee-trials",
    version,
    about = "Randomised Coffee Trials and a library of knowledge-mobilisation techniques"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every subcommand; each flag can also come from its environment variable.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Settings file (TOML; keys as below in lower case). Flags and environment variables win
    /// over it [default: ./coffee-trials.toml when it exists]
    #[arg(long, env = "COFFEE_TRIALS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database: sqlite:FILE or postgres://user@host/db [default: sqlite:coffee-trials.db]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "BIND", global = true)]
    pub bind: Option<String>,
    /// Public address used in links in emails [default: derived from BIND]
    #[arg(long, env = "BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Mail server, e.g. smtp://host:587?tls=required [default: .eml files in ./outbox/]
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Sender of every email [default: coffee-trials <coffee-trials@HOST of BASE_URL>]
    #[arg(long, env = "MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Folder for .eml files when SMTP_URL is not set [default: outbox]
    #[arg(long, env = "OUTBOX_DIR", global = true)]
    pub outbox_dir: Option<String>,
    /// Seconds a message being sent stays reserved before another attempt may take it [default: 120]
    #[arg(long, env = "OUTBOX_LEASE_SECONDS", global = true, hide = true)]
    pub outbox_lease_seconds: Option<String>,
    /// Sign-ups accepted per client address per hour [default: 100]
    #[arg(long, env = "SIGNUP_LIMIT_PER_IP", global = true)]
    pub signup_limit_per_ip: Option<String>,
    /// Sign-ups accepted per email address per hour [default: 5]
    #[arg(long, env = "SIGNUP_LIMIT_PER_EMAIL", global = true)]
    pub signup_limit_per_email: Option<String>,
    /// Reverse proxies whose X-Forwarded-For/Forwarded headers are believed: addresses or CIDR ranges, comma-separated [default: none]
    #[arg(long, env = "TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    /// Serve /metrics (Prometheus) on the main address to a bearer of this token [default: off]
    #[arg(long, env = "METRICS_TOKEN", global = true, hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve /metrics (Prometheus) on an address of its own, e.g. 127.0.0.1:9090 [default: off]
    #[arg(long, env = "METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,
    /// Days a sent email keeps its body; the row and its Message-ID stay [default: 30]
    #[arg(long, env = "OUTBOX_RETENTION_DAYS", global = true)]
    pub outbox_retention_days: Option<String>,
    /// Lets webhook endpoints be plain http on a loopback address (for tests and local
    /// receivers) [default: false]
    #[arg(long, env = "WEBHOOKS_ALLOW_HTTP_LOOPBACK", global = true)]
    pub webhooks_allow_http_loopback: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service (the default when no subcommand is given).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage organiser accounts.
    #[command(subcommand)]
    Organiser(OrganiserCommand),
    /// Create and list trials.
    #[command(subcommand)]
    Trial(TrialCommand),
    /// Run rounds from the command line.
    #[command(subcommand)]
    Round(RoundCommand),
    /// Import participants into a trial.
    #[command(subcommand)]
    Participants(ParticipantsCommand),
    /// Look after the outbox of emails.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Pair the participants of one instance file and print the groups as JSON.
    Match {
        /// Instance JSON: {"participants": [...], "history": [...]}
        #[arg(long)]
        input: PathBuf,
        /// RNG seed; by default derived from the file's bytes so a run can be repeated.
        #[arg(long)]
        seed: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrganiserCommand {
    /// Invite a new organiser: the invitation goes to the outbox (and the link is printed when
    /// no mail server is configured).
    Add {
        /// Their email address.
        email: String,
        /// Make them an admin (manages every trial, the organisers and the technique library)
        /// rather than an organiser of the trials they are given or create.
        #[arg(long)]
        admin: bool,
    },
    /// List the organiser accounts with their role and whether they are disabled.
    List,
    /// Disable an account: it can no longer sign in, and its sessions and API tokens end now.
    Disable { email: String },
    /// Let a disabled account sign in again (its old API tokens stay revoked).
    Enable { email: String },
    /// Make a one-hour link to choose a new password: emailed when SMTP_URL is set, printed
    /// otherwise.
    Reset { email: String },
    /// Create an API token for an organiser's account and print it, alone on a line, for a
    /// script to read. It is shown only this once: the database keeps its hash.
    Token {
        /// The organiser's email address.
        email: String,
        /// What the token is for, such as the script that will use it.
        #[arg(long, default_value = "command line")]
        name: String,
        /// The last day it works, YYYY-MM-DD (UTC); without it the token does not expire.
        #[arg(long, default_value = "")]
        expires_on: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrialCommand {
    /// Create a trial, open for sign-up at /t/SLUG.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        /// What people are grouped by, e.g. Department (the default).
        #[arg(long)]
        attribute: Option<String>,
        /// An event with quick rounds in one room, rather than a recurring programme.
        #[arg(long)]
        event: bool,
        /// The event's date, YYYY-MM-DD (events only).
        #[arg(long, requires = "event")]
        date: Option<String>,
        /// Where the event happens, e.g. "Seminar room 2" (events only).
        #[arg(long, requires = "event")]
        place: Option<String>,
        /// How many quick rounds are planned (events only).
        #[arg(long, requires = "event")]
        rounds: Option<String>,
        /// Minutes per quick round, for the display's countdown; 10 if not given (events only).
        #[arg(long, requires = "event")]
        minutes: Option<String>,
    },
    /// List the trials with their numbers of participants and rounds.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ParticipantsCommand {
    /// Import people from a CSV file (UTF-8, first row naming the columns: name and email,
    /// and optionally the trial's attribute or department, role, site and team).
    ///
    /// Prints a summary first. If any row has a problem (a bad address, a missing name, the
    /// same address twice, ...) nothing is imported and the exit status is non-zero, unless
    /// --skip-problems is given. People already in the trial are left as they are. The other
    /// rows are imported in chunks, each person saved together with their confirmation email;
    /// if the import is interrupted, running the same command again adds the rest and queues
    /// any confirmation email still missing.
    Import {
        /// The trial's short address.
        #[arg(long)]
        trial: String,
        /// The CSV file.
        file: PathBuf,
        /// You have these people's consent: they become active at once. Without it they are
        /// pending and confirm by email before they are paired.
        #[arg(long)]
        consent: bool,
        /// Import the good rows even when others have problems (those are listed and skipped).
        #[arg(long)]
        skip_problems: bool,
        /// Only check the file and print the summary.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Make every email waiting for another attempt due now (after the mail server is back
    /// from an outage), rather than at its next scheduled attempt.
    Retry,
    /// Print how many emails are waiting, being sent, sent and failed.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum RoundCommand {
    /// Propose a round for a trial and publish it (queueing the pairing emails), or with
    /// --dry-run only print the proposed groups.
    Run {
        /// The trial's short address.
        #[arg(long)]
        trial: String,
        /// Print the groups without saving or sending anything.
        #[arg(long)]
        dry_run: bool,
        /// Seed for the pairing engine (random by default).
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// Exit status for a setting, database or migration that stops the service from starting.
const EXIT_CONFIG: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Match { input, seed }) => match_cmd::run(&input, seed),
        Some(Command::Migrate) => with_runtime(cli.settings, migrate),
        Some(Command::Organiser(c)) => {
            let links = matches!(
                c,
                OrganiserCommand::Add { .. } | OrganiserCommand::Reset { .. }
            );
            with_runtime(cli.settings, move |s| async move {
                if links {
                    check_links(&s).await?;
                }
                admin::organiser(s, c).await
            })
        }
        Some(Command::Trial(c)) => {
            let links = matches!(c, TrialCommand::Create { .. });
            with_runtime(cli.settings, move |s| async move {
                if links {
                    check_links(&s).await?;
                }
                admin::trial(s, c).await
            })
        }
        Some(Command::Round(c)) => {
            let links = !matches!(c, RoundCommand::Run { dry_run: true, .. });
            with_runtime(cli.settings, move |s| async move {
                if links {
                    check_links(&s).await?;
                }
                admin::round(s, c).await
            })
        }
        Some(Command::Participants(c)) => {
            let links = !matches!(c, ParticipantsCommand::Import { dry_run: true, .. });
            with_runtime(cli.settings, move |s| async move {
                if links {
                    check_links(&s).await?;
                }
                participants::run(s, c).await
            })
        }
        Some(Command::Outbox(c)) => with_runtime(cli.settings, |s| outbox::run(s, c)),
        Some(Command::Serve) | None => with_runtime(cli.settings, serve),
    }
}

fn with_runtime<F, Fut>(args: SettingsArgs, f: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let config = args.config.clone();
    let settings = match RawSettings::from(args)
        .with_file(config.as_deref())
        .and_then(Settings::from_raw)
    {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    crate::telemetry::init(&settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(f(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(line) => fail(&line),
    }
}

fn fail(line: &str) -> ExitCode {
    eprintln!("coffee-trials: {line}");
    ExitCode::from(EXIT_CONFIG)
}

async fn serve(settings: Settings) -> Result<(), String> {
    let app = Application::build(&settings)
        .await
        .map_err(|e| error_chain(&e))?;
    crate::app::service::record_public_address(app.store(), &settings.base_url)
        .await
        .map_err(|e| format!("DATABASE_URL: {}", error_chain(&e)))?;
    match crate::app::accounts::issue_setup_link(app.store(), &settings.base_url).await {
        Ok(Some(link)) => {
            // The one way in on a fresh install: printed for the operator, valid for an hour.
            println!(
                "No organiser account exists yet. Create the first one within the hour at:\n{link}"
            );
            tracing::info!(setup_link = %link, "no organiser yet: open the set-up link to create one");
        }
        Ok(None) => {}
        Err(e) => return Err(format!("DATABASE_URL: {}", error_chain(&e))),
    }
    tracing::info!(
        address = %format!("http://{}:{}", settings.bind.ip(), app.port()),
        base_url = %settings.base_url,
        database = %settings.database_url,
        "coffee-trials is listening"
    );
    app.run_until_stopped()
        .await
        .map_err(|e| format!("server stopped: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(settings: Settings) -> Result<(), String> {
    let store = crate::app::system::open(&settings.database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: {}", error_chain(&e)))?;
    tracing::info!(database = %settings.database_url, "migrations applied");
    store.close().await;
    Ok(())
}

/// Commands that write links (in emails or printed) check first that their BASE_URL agrees
/// with the one the server recorded, so a shell without BASE_URL cannot mail out links to
/// http://127.0.0.1:8080/ while the service runs elsewhere.
async fn check_links(settings: &Settings) -> Result<(), String> {
    let store = crate::app::system::open(&settings.database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: {}", error_chain(&e)))?;
    let checked = crate::app::service::check_links_point_to_the_server(&store, settings).await;
    store.close().await;
    checked.map_err(|e| match e {
        crate::app::service::LinkCheckError::Store(e) => {
            format!("DATABASE_URL: {}", error_chain(&e))
        }
        other => other.to_string(),
    })
}

pub(crate) use crate::telemetry::error_chain;

impl From<SettingsArgs> for RawSettings {
    fn from(a: SettingsArgs) -> Self {
        RawSettings {
            database_url: a.database_url,
            bind: a.bind,
            base_url: a.base_url,
            smtp_url: a.smtp_url,
            log_format: a.log_format,
            mail_from: a.mail_from,
            outbox_dir: a.outbox_dir,
            outbox_lease_seconds: a.outbox_lease_seconds,
            signup_limit_per_ip: a.signup_limit_per_ip,
            signup_limit_per_email: a.signup_limit_per_email,
            trusted_proxies: a.trusted_proxies,
            metrics_token: a.metrics_token,
            metrics_bind: a.metrics_bind,
            outbox_retention_days: a.outbox_retention_days,
            webhooks_allow_http_loopback: a.webhooks_allow_http_loopback,
        }
    }
}
