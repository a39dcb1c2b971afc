//! Webhooks as the product defines them: the events a receiver may subscribe to, the kinds
//! of endpoint, and the shape of what is sent. Pure: the store fills these in, the delivery
//! worker sends them.
use serde::Serialize;

use super::trial::FieldError;

/// Something that happened in a trial that a receiver may be told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    ParticipantConfirmed,
    ParticipantLeft,
    RoundPublished,
    FeedbackRecorded,
    EventCheckedIn,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 5] = [
        WebhookEvent::ParticipantConfirmed,
        WebhookEvent::ParticipantLeft,
        WebhookEvent::RoundPublished,
        WebhookEvent::FeedbackRecorded,
        WebhookEvent::EventCheckedIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::ParticipantConfirmed => "participant.confirmed",
            WebhookEvent::ParticipantLeft => "participant.left",
            WebhookEvent::RoundPublished => "round.published",
            WebhookEvent::FeedbackRecorded => "feedback.recorded",
            WebhookEvent::EventCheckedIn => "event.checked_in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s.trim())
    }

    /// What the console says next to the tick box.
    pub fn label(self) -> &'static str {
        match self {
            WebhookEvent::ParticipantConfirmed => "someone confirms their sign-up",
            WebhookEvent::ParticipantLeft => "someone leaves the trial",
            WebhookEvent::RoundPublished => "a round is published",
            WebhookEvent::FeedbackRecorded => "someone says whether they met",
            WebhookEvent::EventCheckedIn => "someone is checked in at an event",
        }
    }
}

/// The comma-separated form kept in the database.
pub fn events_to_text(events: &[WebhookEvent]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads the stored form back; an unknown name is skipped (it was never written by us).
pub fn events_from_text(text: &str) -> Vec<WebhookEvent> {
    text.split(',').filter_map(WebhookEvent::parse).collect()
}

/// Where deliveries go: a receiver that checks signatures, or a chat channel's incoming
/// webhook, which gets a short announcement of each round and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointKind {
    Webhook,
    Slack,
    Mattermost,
    Teams,
}

impl EndpointKind {
    pub const ALL: [EndpointKind; 4] = [
        EndpointKind::Webhook,
        EndpointKind::Slack,
        EndpointKind::Mattermost,
        EndpointKind::Teams,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Webhook => "webhook",
            EndpointKind::Slack => "slack",
            EndpointKind::Mattermost => "mattermost",
            EndpointKind::Teams => "teams",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            EndpointKind::Webhook => "Signed webhook (Standard Webhooks)",
            EndpointKind::Slack => "Slack channel",
            EndpointKind::Mattermost => "Mattermost channel",
            EndpointKind::Teams => "Microsoft Teams channel",
        }
    }

    pub fn is_chat(self) -> bool {
        self != EndpointKind::Webhook
    }
}

/// What an organiser asks for, checked: a chat channel only ever hears of published rounds,
/// and a signed webhook needs at least one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointChoice {
    pub kind: EndpointKind,
    pub events: Vec<WebhookEvent>,
    pub personal_data: bool,
    pub description: String,
}

pub const MAX_DESCRIPTION_CHARS: usize = 200;

impl EndpointChoice {
    pub fn parse(
        kind: &str,
        events: &[String],
        personal_data: bool,
        description: &str,
    ) -> Result<Self, FieldError> {
        let kind = EndpointKind::parse(kind).ok_or_else(|| {
            FieldError::new(
                "kind",
                "choose a signed webhook or one of the chat channels",
            )
        })?;
        let description = description.trim().to_string();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(FieldError::new(
                "description",
                format!("keep the description to {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if description.chars().any(char::is_control) {
            return Err(FieldError::new(
                "description",
                "the description must be one line of plain text",
            ));
        }
        if kind.is_chat() {
            // A channel is read by many people: announcements only, never personal data.
            return Ok(Self {
                kind,
                events: vec![WebhookEvent::RoundPublished],
                personal_data: false,
                description,
            });
        }
        let mut chosen = Vec::new();
        for name in events {
            let event = WebhookEvent::parse(name).ok_or_else(|| {
                FieldError::new("events", format!("\"{name}\" is not an event we send"))
            })?;
            if !chosen.contains(&event) {
                chosen.push(event);
            }
        }
        if chosen.is_empty() {
            return Err(FieldError::new("events", "choose at least one event"));
        }
        chosen.sort_by_key(|e| WebhookEvent::ALL.iter().position(|x| x == e));
        Ok(Self {
            kind,
            events: chosen,
            personal_data,
            description,
        })
    }
}

/// A person as a receiver sees them: the membership's public id, and name and address only
/// for an endpoint the organiser allowed to have them.
#[derive(Clone, Debug, Serialize)]
pub struct PersonPayload {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl PersonPayload {
    pub fn new(public_id: &str, name: &str, email: Option<&str>, personal_data: bool) -> Self {
        Self {
            id: public_id.to_string(),
            name: personal_data.then(|| name.to_string()),
            email: if personal_data {
                email.map(str::to_string)
            } else {
                None
            },
        }
    }
}

/// The Standard Webhooks envelope: `{"type", "timestamp", "data"}`.
pub fn envelope(event: WebhookEvent, timestamp: &str, data: serde_json::Value) -> String {
    serde_json::json!({
        "type": event.as_str(),
        "timestamp": timestamp,
        "data": data,
    })
    .to_string()
}

/// The announcement of a published round for a chat channel, for example "Round 4 of Lunch &
/// Learn: 212 people paired across 14 departments; check your email." Counts only.
pub fn round_announcement(
    round_number: i64,
    trial_name: &str,
    people: usize,
    attribute_name: &str,
    distinct_values: usize,
) -> String {
    let people_text = if people == 1 {
        "1 person".to_string()
    } else {
        format!("{people} people")
    };
    let across = match distinct_values {
        0 => String::new(),
        n => {
            let noun = attribute_name.trim().to_lowercase();
            let noun = if noun.is_empty() {
                "groups".to_string()
            } else if n == 1 || noun.ends_with('s') {
                noun
            } else if let Some(stem) = noun.strip_suffix('y') {
                format!("{stem}ies")
            } else {
                format!("{noun}s")
            };
            format!(" across {n} {noun}")
        }
    };
    format!("Round {round_number} of {trial_name}: {people_text} paired{across}; check your email.")
}

/// The body a chat product's incoming webhook takes: Slack and Mattermost a `text`, Teams a
/// simple message card. `library_url` invites people to pick a technique for the conversation.
pub fn chat_body(kind: EndpointKind, announcement: &str, library_url: &str) -> String {
    let more = format!("Ideas for your conversation: {library_url}");
    match kind {
        EndpointKind::Teams => serde_json::json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": announcement,
            "text": format!("{announcement}\n\n{more}"),
        }),
        _ => serde_json::json!({ "text": format!("{announcement}\n{more}") }),
    }
    .to_string()
}

/// An endpoint's address as pages and emails show it. A chat channel's incoming-webhook
/// address is its own secret (anyone holding it can post to the channel), so only its scheme
/// and host are shown.
pub fn shown_url(kind: EndpointKind, url: &str) -> String {
    if !kind.is_chat() {
        return url.to_string();
    }
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => format!("{}/…", &url[..after_scheme + i]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_channels_address_is_shown_without_its_path() {
        assert_eq!(
            shown_url(
                EndpointKind::Slack,
                "https://hooks.slack.com/services/T0/B0/secret"
            ),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            shown_url(EndpointKind::Webhook, "https://example.org/hook"),
            "https://example.org/hook"
        );
    }

    #[test]
    fn events_round_trip_through_their_stored_form() {
        let text = events_to_text(&WebhookEvent::ALL);
        assert_eq!(events_from_text(&text), WebhookEvent::ALL.to_vec());
        assert_eq!(events_from_text(""), vec![]);
    }

    #[test]
    fn a_chat_channel_hears_only_of_rounds_and_never_personal_data() {
        let c = EndpointChoice::parse("slack", &["participant.left".into()], true, "").unwrap();
        assert_eq!(c.events, vec![WebhookEvent::RoundPublished]);
        assert!(!c.personal_data);
    }

    #[test]
    fn a_webhook_needs_known_events() {
        assert_eq!(
            EndpointChoice::parse("webhook", &[], false, "")
                .unwrap_err()
                .field,
            "events"
        );
        assert_eq!(
            EndpointChoice::parse("webhook", &["round.deleted".into()], false, "")
                .unwrap_err()
                .field,
            "events"
        );
        assert_eq!(
            EndpointChoice::parse("fax", &[], false, "")
                .unwrap_err()
                .field,
            "kind"
        );
    }

    #[test]
    fn the_announcement_reads_naturally() {
        assert_eq!(
            round_announcement(4, "Lunch & Learn", 212, "Department", 14),
            "Round 4 of Lunch & Learn: 212 people paired across 14 departments; check your email."
        );
        assert_eq!(
            round_announcement(1, "Ward 7", 2, "Specialty", 1),
            "Round 1 of Ward 7: 2 people paired across 1 specialty; check your email."
        );
        assert_eq!(
            round_announcement(2, "X", 6, "Specialty", 3),
            "Round 2 of X: 6 people paired across 3 specialties; check your email."
        );
    }

    #[test]
    fn people_carry_personal_data_only_when_allowed() {
        let p = PersonPayload::new("m1", "Ada", Some("ada@example.org"), false);
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"id":"m1"}"#);
        let p = PersonPayload::new("m1", "Ada", Some("ada@example.org"), true);
        assert!(serde_json::to_string(&p)
            .unwrap()
            .contains("ada@example.org"));
    }
}
