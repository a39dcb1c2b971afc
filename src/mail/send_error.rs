//! What became of one attempt to send: worth trying again or not, and what the log may say.

/// Why a message did not go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Worth another try later: the server is unreachable, busy, or answered 4xx.
    Transient {
        error: String,
        /// What may go in the log: never the server's answer, which can quote the address.
        loggable: String,
    },
    /// The message went to the server but no answer came back (a timeout or a broken
    /// connection after the data was sent): it may have been delivered. Never sent again at
    /// once; see the worker's `unknown_wait`.
    Unknown { error: String, loggable: String },
    /// Another try will not help: a 5xx answer, or a message that cannot be built.
    Permanent {
        error: String,
        loggable: String,
        /// The recipient's address itself was refused (unknown mailbox, bad domain, ...).
        recipient_refused: bool,
    },
}

impl SendError {
    pub fn permanent(error: impl Into<String>, recipient_refused: bool) -> Self {
        let error = error.into();
        Self::Permanent {
            loggable: error.clone(),
            error,
            recipient_refused,
        }
    }
}

pub(super) fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let error = e.to_string();
    let code = e.status().map(|c| c.to_string());
    let loggable = match &code {
        Some(code) => format!("the mail server answered {code}"),
        None => error.clone(),
    };
    if e.is_permanent() {
        let recipient_refused = code
            .as_deref()
            .is_some_and(|code| refuses_recipient(code, &error));
        SendError::Permanent {
            error,
            loggable,
            recipient_refused,
        }
    } else if e.is_timeout() {
        // lettre's own transport (smtps://) cannot say at which step it ran out of time.
        SendError::Unknown { error, loggable }
    } else {
        SendError::Transient { error, loggable }
    }
}

/// Whether a permanent refusal is about the recipient's address rather than the message or our
/// own account. The enhanced status code (RFC 3463) decides when the server sends one: 5.1.x is
/// a bad address, 5.2.x a mailbox that cannot take mail. Without one, 550, 551 and 553 are the
/// replies RFC 5321 gives for a mailbox that is unavailable, not local or not allowed.
pub fn refuses_recipient(code: &str, error: &str) -> bool {
    let enhanced = error
        .split_whitespace()
        .map(|w| w.trim_end_matches([',', ';', ':']))
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && parts[0] == "5"
                && parts[1..]
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        });
    match enhanced {
        Some(enhanced) => enhanced.starts_with("5.1.") || enhanced.starts_with("5.2."),
        None => matches!(code, "550" | "551" | "553"),
    }
}

#[cfg(test)]
mod tests {
    use super::refuses_recipient;

    #[test]
    fn only_address_problems_count_as_a_refused_recipient() {
        assert!(refuses_recipient(
            "550",
            "permanent error (550): 5.1.1 <x@example.org>: mailbox unavailable"
        ));
        assert!(refuses_recipient(
            "552",
            "permanent error (552): 5.2.2 mailbox full"
        ));
        assert!(refuses_recipient(
            "550",
            "permanent error (550): no such user"
        ));
        assert!(!refuses_recipient(
            "550",
            "permanent error (550): 5.7.1 relaying denied"
        ));
        assert!(!refuses_recipient(
            "554",
            "permanent error (554): message refused"
        ));
    }
}
