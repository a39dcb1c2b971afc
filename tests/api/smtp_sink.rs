//! A small real SMTP server on 127.0.0.1 for delivery tests and the delivery benchmark. It
//! speaks just enough of the protocol for lettre (EHLO, MAIL FROM, RCPT TO, DATA, RSET, NOOP,
//! QUIT), keeps what it receives, and can be told to refuse an address with 550, to be slow,
//! to answer the final "." late (after keeping the message), or to go away.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub message_id: Option<String>,
    /// The message as sent, dot-stuffing undone, lines ending in CRLF.
    pub data: String,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    refused: Mutex<HashSet<String>>,
    delay: Mutex<Duration>,
    reply_delay: Mutex<Duration>,
}

pub struct SmtpSink {
    pub port: u16,
    state: Arc<State>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpSink {
    /// A sink on a free port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A sink on the given port (0 for any free one).
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the SMTP sink can listen");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let server = tokio::spawn(serve(listener, state.clone()));
        Self {
            port,
            state,
            server: Mutex::new(Some(server)),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers 550 to RCPT TO for this address from now on.
    pub fn refuse(&self, address: &str) {
        self.state
            .refused
            .lock()
            .unwrap()
            .insert(address.to_ascii_lowercase());
    }

    /// Waits this long before accepting each message, to stretch a delivery out.
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// Keeps each message as soon as its final "." arrives, then waits this long before
    /// answering it: a server that has the message but confirms it late (or never, for a
    /// client that gives up first).
    pub fn set_reply_delay(&self, delay: Duration) {
        *self.state.reply_delay.lock().unwrap() = delay;
    }

    /// How many copies of the message with this Message-ID arrived.
    pub fn copies_of(&self, message_id: &str) -> usize {
        self.state
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.message_id.as_deref() == Some(message_id))
            .count()
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.state.received.lock().unwrap().len()
    }

    /// Stops listening and drops every open connection, like a server that went away.
    pub fn stop(&self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Aborting this task drops the JoinSet, which aborts every connection with it.
async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(session(stream, state.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn session(stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_string();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 OK\r\n".into(),
            "HELO" => "250 sink\r\n".into(),
            "MAIL" => {
                from = address_in(&command);
                to.clear();
                "250 2.1.0 OK\r\n".into()
            }
            "RCPT" => {
                let address = address_in(&command);
                if state
                    .refused
                    .lock()
                    .unwrap()
                    .contains(&address.to_ascii_lowercase())
                {
                    format!("550 5.1.1 <{address}>: mailbox unavailable\r\n")
                } else {
                    to.push(address);
                    "250 2.1.5 OK\r\n".into()
                }
            }
            "DATA" if to.is_empty() => "503 5.5.1 no valid recipients\r\n".into(),
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let data = read_data(&mut lines).await?;
                let delay = *state.delay.lock().unwrap();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                state.received.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    message_id: header(&data, "message-id"),
                    data,
                });
                let reply_delay = *state.reply_delay.lock().unwrap();
                if !reply_delay.is_zero() {
                    tokio::time::sleep(reply_delay).await;
                }
                "250 2.0.0 queued\r\n".into()
            }
            "RSET" => {
                from.clear();
                to.clear();
                "250 2.0.0 OK\r\n".into()
            }
            "NOOP" => "250 2.0.0 OK\r\n".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not recognised\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = String::from_utf8_lossy(&line);
        if text == ".\r\n" || text == ".\n" {
            return Ok(data);
        }
        data.push_str(text.strip_prefix('.').unwrap_or(&text));
    }
}

/// The text between < and > in `MAIL FROM:<a@b> SIZE=1`.
fn address_in(command: &str) -> String {
    match (command.find('<'), command.find('>')) {
        (Some(start), Some(end)) if start < end => command[start + 1..end].to_string(),
        _ => String::new(),
    }
}

/// A header's value, unfolded, from the header block of a message.
pub fn header(data: &str, name: &str) -> Option<String> {
    let head = data.split("\r\n\r\n").next().unwrap_or(data);
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.trim().eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}
