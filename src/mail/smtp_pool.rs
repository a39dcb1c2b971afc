//! A small pool of SMTP connections for `smtp://` URLs (plain or STARTTLS) whose sockets have
//! Nagle's algorithm switched off.
//!
//! Why not lettre's own pool: lettre writes a message's body and the closing "." in two writes.
//! With Nagle on, the second waits for the server to acknowledge the first, and servers delay
//! that acknowledgement (40 ms on Linux), which capped each connection at about 22 messages a
//! second. lettre lets us hand it our own socket, so we do, and keep lettre for the protocol.
//! `smtps://` (TLS from the first byte) still goes through lettre's pool: there lettre owns the
//! socket.
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::Message;
use url::Url;

use super::send_error::{classify, SendError};

/// Whether to upgrade the connection with STARTTLS (`?tls=required` or `?tls=opportunistic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StartTls {
    Never,
    Opportunistic,
    Required,
}

/// Connections idle for longer are closed rather than reused: servers drop idle clients.
const MAX_IDLE: Duration = Duration::from_secs(30);

pub struct SmtpPool {
    host: String,
    port: u16,
    start_tls: StartTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeouts: SmtpTimeouts,
    max_idle_connections: usize,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl SmtpPool {
    /// `None` when the URL is not an `smtp://` URL this pool handles.
    pub fn from_url(url: &Url, max_connections: usize, timeouts: SmtpTimeouts) -> Option<Self> {
        if url.scheme() != "smtp" {
            return None;
        }
        let host = url.host_str()?.trim_matches(['[', ']']).to_string();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (start_tls, default_port) = match tls.as_deref() {
            None => (StartTls::Never, 25),
            Some("required") => (StartTls::Required, 587),
            Some("opportunistic") => (StartTls::Opportunistic, 587),
            Some(_) => return None,
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = url
            .password()
            .map(|password| Credentials::new(decode(url.username()), decode(password)));
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        Some(Self {
            port: url.port().unwrap_or(default_port),
            host,
            start_tls,
            credentials,
            hello,
            timeouts,
            max_idle_connections: max_connections.max(1),
            idle: Mutex::new(Vec::new()),
        })
    }

    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        // A reused connection may have been closed by the server since. A failure on it before
        // the message itself went out (MAIL, RCPT or DATA) earns a second try on a fresh
        // connection; once the message is on the wire, never: the server may have it already.
        if let Some(mut conn) = self.take_idle() {
            match self.transaction(&mut conn, &envelope, &bytes).await {
                Ok(()) => {
                    self.give_back(conn);
                    return Ok(());
                }
                Err(Failure::BeforeData {
                    answered: false, ..
                }) => {}
                Err(failure) => return Err(failure.into_send_error()),
            }
        }
        let mut conn = self.connect().await?;
        match self.transaction(&mut conn, &envelope, &bytes).await {
            Ok(()) => {
                self.give_back(conn);
                Ok(())
            }
            Err(failure) => Err(failure.into_send_error()),
        }
    }

    /// One mail transaction (MAIL, RCPT, DATA, the message) with the timeouts of RFC 5321
    /// section 4.5.3.2 for each step. A connection that failed is not given back.
    async fn transaction(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
    ) -> Result<(), Failure> {
        let mut mail_options = vec![];
        let non_ascii = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::Refused(unsendable(
                    "the address needs SMTPUTF8, which the mail server does not offer",
                )));
            }
            mail_options.push(MailParameter::SmtpUtfEight);
        }
        if !bytes.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(Failure::Refused(unsendable(
                    "the message needs 8BITMIME, which the mail server does not offer",
                )));
            }
            mail_options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let command = self.timeouts.command;
        step(
            command,
            conn.command(Mail::new(envelope.from().cloned(), mail_options)),
        )
        .await?;
        for to in envelope.to() {
            step(command, conn.command(Rcpt::new(to.clone(), vec![]))).await?;
        }
        step(command, conn.command(Data)).await?;
        match tokio::time::timeout(self.timeouts.final_reply, conn.message(bytes)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.status().is_some() => Err(Failure::Refused(classify(e))),
            Ok(Err(e)) => Err(Failure::Unknown(format!(
                "the connection failed while the message was being sent: {e}"
            ))),
            Err(_) => Err(Failure::Unknown(format!(
                "the mail server did not confirm the message within {} s",
                self.timeouts.final_reply.as_secs()
            ))),
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < MAX_IDLE {
                return Some(conn);
            }
            // Dropped without QUIT: the server sees the socket close, which it handles anyway.
        }
        None
    }

    fn give_back(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle_connections {
            idle.push((conn, Instant::now()));
        }
    }

    async fn within_timeout<F: std::future::Future>(
        &self,
        f: F,
    ) -> Result<F::Output, tokio::time::error::Elapsed> {
        tokio::time::timeout(self.timeouts.command, f).await
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let stream = self
            .within_timeout(tokio::net::TcpStream::connect((
                self.host.as_str(),
                self.port,
            )))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| transient(format!("cannot connect to the mail server: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| transient(format!("cannot set up the connection: {e}")))?;
        let mut conn = self
            .within_timeout(AsyncSmtpConnection::connect_with_transport(
                Box::new(stream),
                &self.hello,
            ))
            .await
            .map_err(|_| timed_out())?
            .map_err(classify)?;
        let upgrade = match self.start_tls {
            StartTls::Never => false,
            StartTls::Required => true,
            StartTls::Opportunistic => conn.can_starttls(),
        };
        if upgrade {
            let parameters = TlsParameters::new(self.host.clone()).map_err(classify)?;
            self.within_timeout(conn.starttls(parameters, &self.hello))
                .await
                .map_err(|_| timed_out())?
                .map_err(classify)?;
        }
        if let Some(credentials) = &self.credentials {
            self.within_timeout(conn.auth(DEFAULT_MECHANISMS, credentials))
                .await
                .map_err(|_| timed_out())?
                .map_err(classify)?;
        }
        Ok(conn)
    }
}

/// How long each step of a conversation with the mail server may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmtpTimeouts {
    /// Connecting, the greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT and DATA: five minutes,
    /// as RFC 5321 section 4.5.3.2 asks for the greeting, MAIL and RCPT.
    pub command: Duration,
    /// The reply to the final "." of a message: ten minutes (RFC 5321 section 4.5.3.2.6).
    /// A server may take that long to accept a message; giving up sooner invites duplicates.
    pub final_reply: Duration,
}

impl Default for SmtpTimeouts {
    fn default() -> Self {
        Self {
            command: Duration::from_secs(5 * 60),
            final_reply: Duration::from_secs(10 * 60),
        }
    }
}

/// Where a mail transaction failed.
enum Failure {
    /// Before the message itself was sent: nothing was delivered. `answered`: the server
    /// replied (with a refusal); otherwise the connection failed or timed out.
    BeforeData { answered: bool, error: SendError },
    /// The server answered with a refusal, or the message cannot be sent as it is.
    Refused(SendError),
    /// The message was sent but no answer came: it may or may not have been delivered.
    Unknown(String),
}

impl Failure {
    fn into_send_error(self) -> SendError {
        match self {
            Failure::BeforeData { error, .. } => error,
            Failure::Refused(e) => e,
            Failure::Unknown(error) => SendError::Unknown {
                loggable: error.clone(),
                error,
            },
        }
    }
}

/// One command before the message, within `limit`.
async fn step<T>(
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(limit, f).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(Failure::BeforeData {
            answered: e.status().is_some(),
            error: classify(e),
        }),
        Err(_) => Err(Failure::BeforeData {
            answered: false,
            error: timed_out(),
        }),
    }
}

fn unsendable(error: &str) -> SendError {
    SendError::permanent(error, false)
}

fn transient(error: String) -> SendError {
    SendError::Transient {
        loggable: error.clone(),
        error,
    }
}

fn timed_out() -> SendError {
    transient("the mail server did not answer in time".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(url: &str) -> Option<SmtpPool> {
        SmtpPool::from_url(&Url::parse(url).unwrap(), 4, SmtpTimeouts::default())
    }

    #[test]
    fn smtp_urls_choose_port_starttls_and_credentials_as_lettre_would() {
        let plain = pool("smtp://mail.example.org").unwrap();
        assert_eq!((plain.port, plain.start_tls), (25, StartTls::Never));
        assert!(plain.credentials.is_none());

        let submission = pool("smtp://us%40er:p%3Ass@mail.example.org?tls=required").unwrap();
        assert_eq!(
            (submission.port, submission.start_tls),
            (587, StartTls::Required)
        );
        assert_eq!(
            submission.credentials,
            Some(Credentials::new("us@er".into(), "p:ss".into()))
        );

        let opportunistic = pool("smtp://mail.example.org:2525?tls=opportunistic").unwrap();
        assert_eq!(
            (opportunistic.port, opportunistic.start_tls),
            (2525, StartTls::Opportunistic)
        );
    }

    #[test]
    fn smtps_and_unknown_tls_modes_are_left_to_lettre() {
        assert!(pool("smtps://user:pass@mail.example.org").is_none());
        assert!(pool("smtp://mail.example.org?tls=sometimes").is_none());
    }
}
