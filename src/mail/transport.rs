//! Where emails go: an SMTP server through a connection pool when `SMTP_URL` is set, otherwise
//! `.eml` files in a folder that a newcomer can open in any mail program.
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::Url;

use crate::config::{ConfigError, Settings};

use super::send_error::classify;
pub use super::send_error::{refuses_recipient, SendError};

pub enum Transport {
    /// `smtp://`: our own pool, with Nagle off (see `smtp_pool`).
    Direct {
        pool: super::smtp_pool::SmtpPool,
        shown: String,
    },
    /// `smtps://`: lettre's pool.
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL without credentials, for the log.
        shown: String,
    },
    Files {
        dir: PathBuf,
    },
}

pub use super::smtp_pool::SmtpTimeouts;

impl Transport {
    /// The transport the settings ask for; `pool_size` SMTP connections at most.
    pub fn from_settings(settings: &Settings, pool_size: u32) -> Result<Self, ConfigError> {
        match &settings.smtp_url {
            Some(url) => Self::smtp(url, pool_size),
            None => Ok(Self::files(&settings.outbox_dir)),
        }
    }

    pub fn smtp(url: &Url, pool_size: u32) -> Result<Self, ConfigError> {
        Self::smtp_with_timeouts(url, pool_size, SmtpTimeouts::default())
    }

    /// Like [`Transport::smtp`] with other timeouts (tests shorten them).
    pub fn smtp_with_timeouts(
        url: &Url,
        pool_size: u32,
        timeouts: SmtpTimeouts,
    ) -> Result<Self, ConfigError> {
        let mut shown = url.clone();
        let _ = shown.set_password(None);
        let _ = shown.set_username("");
        let shown = shown.to_string();
        if let Some(pool) = super::smtp_pool::SmtpPool::from_url(url, pool_size as usize, timeouts)
        {
            return Ok(Self::Direct { pool, shown });
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .map_err(|e| ConfigError::new("SMTP_URL", format!("cannot be used: {e}")))?
            // lettre has one timeout for every step: the longest, for the final reply.
            .timeout(Some(timeouts.final_reply))
            .pool_config(
                PoolConfig::new()
                    .max_size(pool_size.max(1))
                    .idle_timeout(Duration::from_secs(60)),
            )
            .build();
        Ok(Self::Smtp { transport, shown })
    }

    pub fn files(dir: impl Into<PathBuf>) -> Self {
        Self::Files { dir: dir.into() }
    }

    /// One line for the start-up log; never the password.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { shown, .. } | Transport::Direct { shown, .. } => {
                format!("SMTP via {shown}")
            }
            Transport::Files { dir } => {
                format!(".eml files in {} (SMTP_URL is not set)", dir.display())
            }
        }
    }

    /// Sends one message. `file_name` names the file for the file transport.
    pub async fn send(&self, message: &Message, file_name: &str) -> Result<(), SendError> {
        match self {
            Transport::Direct { pool, .. } => pool.send(message).await,
            Transport::Smtp { transport, .. } => transport
                .send(message.clone())
                .await
                .map(|_| ())
                .map_err(classify),
            Transport::Files { dir } => write_eml(dir, file_name, message.formatted())
                .await
                .map_err(|e| {
                    let error = format!("cannot write to {}: {e}", dir.display());
                    SendError::Transient {
                        loggable: error.clone(),
                        error,
                    }
                }),
        }
    }
}

/// Writes beside the target and renames, so that nobody ever opens half a message. When
/// either step fails (a full disk, a folder that cannot be written), the partial file is
/// removed: the message is tried again later, and nothing is left behind meanwhile. The steps
/// run together on one blocking thread: one hand-off per message instead of one per step.
async fn write_eml(dir: &Path, file_name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
    let (dir, file_name) = (dir.to_path_buf(), file_name.to_string());
    tokio::task::spawn_blocking(move || write_eml_now(&dir, &file_name, &bytes))
        .await
        .map_err(std::io::Error::other)?
}

fn write_eml_now(dir: &Path, file_name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join(file_name);
    let partial = dir.join(format!(".{file_name}.partial"));
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, &target));
    if written.is_err() {
        // Nothing to remove when the file could not even be created.
        let _ = std::fs::remove_file(&partial);
    }
    written
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_failed_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the message should go makes the rename fail after the write.
        std::fs::create_dir_all(dir.path().join("000001-x.eml").join("inside")).unwrap();
        let result = super::write_eml(
            dir.path(),
            "000001-x.eml",
            b"Subject: hi\r\n\r\nhi\r\n".to_vec(),
        )
        .await;
        assert!(result.is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            vec!["000001-x.eml".to_string()],
            "no .partial file is left"
        );
    }

    // The pool starts its housekeeping task on the runtime, hence tokio::test.
    #[tokio::test]
    async fn the_description_never_shows_the_password() {
        let url = url::Url::parse("smtps://user:secret@mail.example.org:465").unwrap();
        let t = super::Transport::smtp(&url, 2).unwrap();
        let shown = t.describe();
        assert!(
            !shown.contains("secret") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("mail.example.org:465"));
    }
}
