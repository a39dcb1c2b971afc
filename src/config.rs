//! Settings, read once at start from flags and environment variables and validated before
//! anything else happens, so that a bad setting ends the process with one clear line.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use url::Url;

pub use crate::store::{Backend, DatabaseUrl};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings for `serve` and the other subcommands.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    pub base_url: Url,
    /// Whether BASE_URL was given (flag, environment or file) rather than derived from BIND.
    /// Commands that write links refuse to guess when the server recorded another address.
    pub base_url_given: bool,
    pub smtp_url: Option<Url>,
    pub log_format: LogFormat,
    /// The sender of every email.
    pub mail_from: Mailbox,
    /// Where emails are written as `.eml` files when no SMTP_URL is set.
    pub outbox_dir: PathBuf,
    /// How long a message claimed for sending stays reserved; a message left in `sending`
    /// past it (the process died mid-send) is sent again.
    pub outbox_lease: Duration,
    /// Sign-ups accepted per client address per hour (a shared office network counts as one).
    pub signup_limit_per_ip: u32,
    /// Sign-ups accepted per email address per hour, so nobody's inbox can be flooded.
    pub signup_limit_per_email: u32,
    /// How often `serve` looks for scheduled rounds, notices and feedback that are due. Not a
    /// setting of its own: tests shorten it.
    pub scheduler_interval: Duration,
    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` headers name the client.
    pub trusted_proxies: crate::web::client_address::TrustedProxies,
    /// Failed sign-ins an account takes per hour before only known addresses may try. Not a
    /// setting of its own: tests lower it.
    pub sign_in_ceiling_per_hour: u32,
    /// Days a sent email keeps its body; after that only the row (Message-ID, recipient,
    /// subject, times) stays.
    pub outbox_retention_days: u32,
    /// Whether `serve` runs the outbox worker and the scheduler. Not a setting of its own:
    /// tests turn it off and drive both by hand.
    pub background_loops: bool,
    /// `METRICS_TOKEN`: `/metrics` is served to a bearer of this token.
    pub metrics_token: Option<String>,
    /// `METRICS_BIND`: an address of its own that serves `/metrics` (and nothing else).
    pub metrics_bind: Option<SocketAddr>,
    /// `WEBHOOKS_ALLOW_HTTP_LOOPBACK`: webhook endpoints may be plain http on a loopback
    /// address (a receiver on the same machine, as in the tests). Off, only https to public
    /// addresses is accepted.
    pub webhooks_allow_http_loopback: bool,
}

/// The raw values as they arrive from flags, the environment or the configuration file.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub base_url: Option<String>,
    pub smtp_url: Option<String>,
    pub log_format: Option<String>,
    pub mail_from: Option<String>,
    pub outbox_dir: Option<String>,
    pub outbox_lease_seconds: Option<String>,
    pub signup_limit_per_ip: Option<String>,
    pub signup_limit_per_email: Option<String>,
    pub trusted_proxies: Option<String>,
    pub metrics_token: Option<String>,
    pub metrics_bind: Option<String>,
    pub outbox_retention_days: Option<String>,
    pub webhooks_allow_http_loopback: Option<String>,
}

pub const DEFAULT_SIGNUP_LIMIT_PER_IP: u32 = 100;
/// Failed sign-ins an account takes per hour (from anywhere) before only addresses it has
/// signed in from may try.
pub const DEFAULT_SIGN_IN_CEILING_PER_HOUR: u32 = 100;
pub const DEFAULT_SIGNUP_LIMIT_PER_EMAIL: u32 = 5;

/// Days a sent email keeps its body (`OUTBOX_RETENTION_DAYS`).
pub const DEFAULT_OUTBOX_RETENTION_DAYS: u32 = 30;

pub const DEFAULT_OUTBOX_DIR: &str = "outbox";
pub const DEFAULT_OUTBOX_LEASE_SECONDS: u64 = 120;

/// How often the background loop looks at the schedules.
pub const SCHEDULER_TICK: Duration = Duration::from_secs(30);

pub const DEFAULT_DATABASE_URL: &str = "sqlite:coffee-trials.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

impl Settings {
    pub fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let database_url = DatabaseUrl::parse(
            non_empty(raw.database_url)
                .as_deref()
                .unwrap_or(DEFAULT_DATABASE_URL),
        )
        .map_err(|problem| ConfigError::new("DATABASE_URL", problem))?;
        let bind_raw = non_empty(raw.bind).unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind_raw.parse().map_err(|_| {
            ConfigError::new(
                "BIND",
                format!("'{bind_raw}' is not an address and port such as 127.0.0.1:8080"),
            )
        })?;
        let base_url_given = non_empty(raw.base_url.clone()).is_some();
        let base_url = match non_empty(raw.base_url) {
            Some(s) => parse_base_url(&s)?,
            None => derive_base_url(bind),
        };
        let smtp_url = non_empty(raw.smtp_url)
            .map(|s| parse_smtp_url(&s))
            .transpose()?;
        let log_format = match non_empty(raw.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    format!("'{other}' is not one of: text, json"),
                ))
            }
        };
        let mail_from = match non_empty(raw.mail_from) {
            Some(s) => s.parse::<Mailbox>().map_err(|e| {
                ConfigError::new(
                    "MAIL_FROM",
                    format!("'{s}' is not an address such as 'Coffee <coffee@example.org>': {e}"),
                )
            })?,
            None => default_mail_from(&base_url),
        };
        let outbox_dir = PathBuf::from(
            non_empty(raw.outbox_dir).unwrap_or_else(|| DEFAULT_OUTBOX_DIR.to_string()),
        );
        let outbox_lease = match non_empty(raw.outbox_lease_seconds) {
            None => Duration::from_secs(DEFAULT_OUTBOX_LEASE_SECONDS),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (1..=86_400).contains(&n) => Duration::from_secs(n),
                _ => {
                    return Err(ConfigError::new(
                        "OUTBOX_LEASE_SECONDS",
                        format!("'{s}' is not a number of seconds from 1 to 86400"),
                    ))
                }
            },
        };
        let metrics_token = non_empty(raw.metrics_token)
            .map(|t| {
                if t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    Err(ConfigError::new(
                        "METRICS_TOKEN",
                        "must be at least 16 characters, without spaces",
                    ))
                } else {
                    Ok(t)
                }
            })
            .transpose()?;
        let metrics_bind = non_empty(raw.metrics_bind)
            .map(|b| {
                b.parse::<SocketAddr>().map_err(|_| {
                    ConfigError::new(
                        "METRICS_BIND",
                        format!("'{b}' is not an address and port such as 127.0.0.1:9090"),
                    )
                })
            })
            .transpose()?;
        let trusted_proxies = crate::web::client_address::TrustedProxies::parse(
            raw.trusted_proxies.as_deref().unwrap_or_default(),
        )
        .map_err(|e| ConfigError::new("TRUSTED_PROXIES", e))?;
        Ok(Self {
            database_url,
            bind,
            base_url,
            base_url_given,
            smtp_url,
            log_format,
            mail_from,
            outbox_dir,
            outbox_lease,
            scheduler_interval: SCHEDULER_TICK,
            trusted_proxies,
            sign_in_ceiling_per_hour: DEFAULT_SIGN_IN_CEILING_PER_HOUR,
            background_loops: true,
            metrics_token,
            metrics_bind,
            signup_limit_per_ip: parse_limit(
                "SIGNUP_LIMIT_PER_IP",
                raw.signup_limit_per_ip,
                DEFAULT_SIGNUP_LIMIT_PER_IP,
            )?,
            signup_limit_per_email: parse_limit(
                "SIGNUP_LIMIT_PER_EMAIL",
                raw.signup_limit_per_email,
                DEFAULT_SIGNUP_LIMIT_PER_EMAIL,
            )?,
            outbox_retention_days: parse_retention_days(raw.outbox_retention_days)?,
            webhooks_allow_http_loopback: parse_switch(
                "WEBHOOKS_ALLOW_HTTP_LOOPBACK",
                raw.webhooks_allow_http_loopback,
            )?,
        })
    }
}

/// The configuration file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "coffee-trials.toml";

impl RawSettings {
    /// Fills every setting not given by a flag or environment variable from the configuration
    /// file: `path` when given (it must exist), otherwise `coffee-trials.toml` in the working
    /// directory when there is one. Keys are the settings' names in lower case
    /// (`base_url = "https://coffee.example.org/"`); an unknown key is an error, so a typo
    /// never passes unnoticed.
    pub fn with_file(self, path: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(e) => {
                return Err(ConfigError::new(
                    "--config",
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        };
        self.merged_with(&text).map_err(|problem| {
            ConfigError::new("--config", format!("{}: {problem}", path.display()))
        })
    }

    /// The settings given here, and for the rest what the file's text says.
    fn merged_with(self, file_text: &str) -> Result<Self, String> {
        let table: toml::Table = file_text.parse().map_err(|e: toml::de::Error| {
            e.to_string().lines().next().unwrap_or_default().to_string()
        })?;
        let mut file = serde_json::Map::new();
        for (key, value) in table {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                // A list of addresses, e.g. trusted_proxies = ["10.0.0.0/8", "127.0.0.1"].
                toml::Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        toml::Value::String(s) => Ok(s.clone()),
                        _ => Err(format!("{key}: a list may hold only texts")),
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(","),
                _ => return Err(format!("{key}: expected a text, number or list")),
            };
            file.insert(key, serde_json::Value::String(text));
        }
        let serde_json::Value::Object(mut given) =
            serde_json::to_value(&self).map_err(|e| e.to_string())?
        else {
            unreachable!("settings serialise as an object")
        };
        for (key, value) in file {
            if !given.contains_key(&key) {
                let known: Vec<&String> = given.keys().collect();
                return Err(format!(
                    "'{key}' is not a setting; the settings are: {}",
                    known
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if given[&key].is_null() {
                given.insert(key, value);
            }
        }
        serde_json::from_value(serde_json::Value::Object(given)).map_err(|e| e.to_string())
    }
}

fn parse_switch(setting: &'static str, raw: Option<String>) -> Result<bool, ConfigError> {
    match non_empty(raw).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(ConfigError::new(
            setting,
            format!("'{other}' is not one of: true, false"),
        )),
    }
}

fn parse_retention_days(raw: Option<String>) -> Result<u32, ConfigError> {
    match non_empty(raw) {
        None => Ok(DEFAULT_OUTBOX_RETENTION_DAYS),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=36_500).contains(n))
            .ok_or_else(|| {
                ConfigError::new(
                    "OUTBOX_RETENTION_DAYS",
                    format!("'{s}' is not a whole number of days from 1 to 36500"),
                )
            }),
    }
}

fn parse_limit(
    setting: &'static str,
    raw: Option<String>,
    default: u32,
) -> Result<u32, ConfigError> {
    match non_empty(raw) {
        None => Ok(default),
        Some(s) => s.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ConfigError::new(
                setting,
                format!("'{s}' is not a whole number of sign-ups per hour, at least 1"),
            )
        }),
    }
}

/// `coffee-trials <coffee-trials@HOST>` with the host of BASE_URL, or `localhost` when that host
/// is not usable in an address (an IPv6 literal, say).
fn default_mail_from(base_url: &Url) -> Mailbox {
    let host = base_url.host_str().unwrap_or("localhost");
    format!("coffee-trials <coffee-trials@{host}>")
        .parse()
        .unwrap_or_else(|_| {
            "coffee-trials <coffee-trials@localhost>"
                .parse()
                .expect("a fixed valid address")
        })
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn parse_base_url(s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s)
        .map_err(|e| ConfigError::new("BASE_URL", format!("'{s}' is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            "BASE_URL",
            format!("'{s}' must be an http:// or https:// address"),
        ));
    }
    Ok(url)
}

/// Links must point somewhere a browser can reach: a wildcard bind address is not.
fn derive_base_url(bind: SocketAddr) -> Url {
    let host = match bind.ip() {
        ip if ip.is_unspecified() => "localhost".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    Url::parse(&format!("http://{host}:{}/", bind.port())).expect("a host and port form a URL")
}

fn parse_smtp_url(s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s)
        .map_err(|e| ConfigError::new("SMTP_URL", format!("is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
        return Err(ConfigError::new(
            "SMTP_URL",
            "must look like smtp://host:25, smtp://host:587?tls=required or smtps://user:pass@host:465",
        ));
    }
    for (key, value) in url.query_pairs() {
        if key != "tls" || !matches!(value.as_ref(), "required" | "opportunistic") {
            return Err(ConfigError::new(
                "SMTP_URL",
                "the only option is ?tls=required or ?tls=opportunistic",
            ));
        }
    }
    Ok(url)
}

/// A setting that cannot be used, named so the operator knows what to fix.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(setting: &'static str, problem: impl Into<String>) -> Self {
        Self {
            setting,
            problem: problem.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_fills_what_flags_and_environment_left_out() {
        let given = RawSettings {
            bind: Some("127.0.0.1:9000".into()),
            ..Default::default()
        };
        let merged = given
            .merged_with(
                "bind = \"0.0.0.0:80\"\nbase_url = \"https://coffee.example.org/\"\n\
                 signup_limit_per_ip = 250\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\"]\n",
            )
            .unwrap();
        assert_eq!(
            merged.bind.as_deref(),
            Some("127.0.0.1:9000"),
            "a flag wins"
        );
        assert_eq!(
            merged.base_url.as_deref(),
            Some("https://coffee.example.org/")
        );
        assert_eq!(merged.signup_limit_per_ip.as_deref(), Some("250"));
        assert_eq!(
            merged.trusted_proxies.as_deref(),
            Some("10.0.0.0/8,127.0.0.1")
        );
        let settings = Settings::from_raw(merged).unwrap();
        assert!(settings.base_url_given);
        assert_eq!(settings.signup_limit_per_ip, 250);
    }

    #[test]
    fn a_misspelt_key_in_the_file_is_named() {
        let problem = RawSettings::default()
            .merged_with("base_ulr = \"https://coffee.example.org/\"")
            .unwrap_err();
        assert!(problem.contains("'base_ulr' is not a setting"), "{problem}");
        assert!(problem.contains("base_url"), "{problem}");
        let problem = RawSettings::default().merged_with("bind = ").unwrap_err();
        assert!(!problem.is_empty());
    }

    #[test]
    fn a_missing_default_file_is_fine_but_a_named_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let error = RawSettings::default()
            .with_file(Some(&missing))
            .unwrap_err();
        assert_eq!(error.setting, "--config");
        let file = dir.path().join("settings.toml");
        std::fs::write(&file, "log_format = \"json\"\n").unwrap();
        let raw = RawSettings::default().with_file(Some(&file)).unwrap();
        assert_eq!(raw.log_format.as_deref(), Some("json"));
        assert!(
            !Settings::from_raw(RawSettings::default())
                .unwrap()
                .base_url_given
        );
    }

    #[test]
    fn metrics_are_off_by_default_and_their_settings_are_checked() {
        let s = Settings::from_raw(RawSettings::default()).unwrap();
        assert_eq!((s.metrics_token, s.metrics_bind), (None, None));
        let s = Settings::from_raw(RawSettings {
            metrics_token: Some("0123456789abcdef-token".into()),
            metrics_bind: Some("127.0.0.1:9090".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.metrics_token.as_deref(), Some("0123456789abcdef-token"));
        assert_eq!(s.metrics_bind, Some("127.0.0.1:9090".parse().unwrap()));
        for (raw, name) in [
            (
                RawSettings {
                    metrics_token: Some("short".into()),
                    ..Default::default()
                },
                "METRICS_TOKEN",
            ),
            (
                RawSettings {
                    metrics_bind: Some("everywhere".into()),
                    ..Default::default()
                },
                "METRICS_BIND",
            ),
        ] {
            let e = Settings::from_raw(raw).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    #[test]
    fn the_sender_defaults_to_the_host_of_base_url() {
        let s = Settings::from_raw(RawSettings {
            base_url: Some("https://coffee.example.org/".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            s.mail_from.to_string(),
            "coffee-trials <coffee-trials@coffee.example.org>"
        );
        let s = Settings::from_raw(RawSettings {
            bind: Some("[::1]:8080".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.mail_from.email.domain(), "localhost");
    }

    #[test]
    fn base_url_is_derived_from_bind() {
        let s = Settings::from_raw(RawSettings::default()).unwrap();
        assert_eq!(s.base_url.as_str(), "http://127.0.0.1:8080/");
        let s = Settings::from_raw(RawSettings {
            bind: Some("0.0.0.0:9000".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.base_url.as_str(), "http://localhost:9000/");
    }

    #[test]
    fn bad_settings_name_themselves() {
        let cases = [
            (
                RawSettings {
                    bind: Some("nowhere".into()),
                    ..Default::default()
                },
                "BIND",
            ),
            (
                RawSettings {
                    base_url: Some("ftp://x".into()),
                    ..Default::default()
                },
                "BASE_URL",
            ),
            (
                RawSettings {
                    smtp_url: Some("http://x".into()),
                    ..Default::default()
                },
                "SMTP_URL",
            ),
            (
                RawSettings {
                    log_format: Some("xml".into()),
                    ..Default::default()
                },
                "LOG_FORMAT",
            ),
            (
                RawSettings {
                    mail_from: Some("coffee at example".into()),
                    ..Default::default()
                },
                "MAIL_FROM",
            ),
            (
                RawSettings {
                    outbox_lease_seconds: Some("0".into()),
                    ..Default::default()
                },
                "OUTBOX_LEASE_SECONDS",
            ),
        ];
        for (raw, setting) in cases {
            assert_eq!(Settings::from_raw(raw).unwrap_err().setting, setting);
        }
    }

    #[test]
    fn trusted_proxies_default_to_none_and_bad_ones_are_named() {
        let s = Settings::from_raw(RawSettings::default()).unwrap();
        assert!(s.trusted_proxies.is_empty());
        let s = Settings::from_raw(RawSettings {
            trusted_proxies: Some("127.0.0.1, 10.0.0.0/8, ::1".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(s.trusted_proxies.contains("10.9.8.7".parse().unwrap()));
        let e = Settings::from_raw(RawSettings {
            trusted_proxies: Some("127.0.0.1, nginx".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.setting, "TRUSTED_PROXIES");
        assert!(e.problem.contains("'nginx'"), "{}", e.problem);
    }

    #[test]
    fn signup_limits_have_defaults_and_must_be_positive() {
        let s = Settings::from_raw(RawSettings::default()).unwrap();
        assert_eq!(s.signup_limit_per_ip, DEFAULT_SIGNUP_LIMIT_PER_IP);
        assert_eq!(s.signup_limit_per_email, DEFAULT_SIGNUP_LIMIT_PER_EMAIL);
        let s = Settings::from_raw(RawSettings {
            signup_limit_per_ip: Some(" 7 ".into()),
            signup_limit_per_email: Some("2".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((s.signup_limit_per_ip, s.signup_limit_per_email), (7, 2));
        for bad in ["0", "-1", "lots", "1.5"] {
            let e = Settings::from_raw(RawSettings {
                signup_limit_per_email: Some(bad.into()),
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(e.setting, "SIGNUP_LIMIT_PER_EMAIL");
            let e = Settings::from_raw(RawSettings {
                signup_limit_per_ip: Some(bad.into()),
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(e.setting, "SIGNUP_LIMIT_PER_IP");
        }
    }
}
