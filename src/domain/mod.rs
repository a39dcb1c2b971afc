//! Layer: the bottom one. May import nothing of the crate but other `domain` modules; every
//! other layer may import it.
//!
//! Pure types of the product, each built by a `parse` that refuses bad input with a message
//! a person can act on. Nothing here does I/O or knows about HTTP or SQL.
mod email;
mod feedback;
mod import;
mod outbox;
mod participant;
mod round;
mod round_settings;
mod schedule;
mod slug;
mod text;
mod text_or_number;
mod trial;
mod webhook;

pub use email::Email;
pub use feedback::{GroupMeeting, Outcome};
pub use import::ImportState;
pub use outbox::OutboxState;
pub use participant::{
    MeetingMode, MembershipState, ParticipantDetails, ParticipantInput, MAX_INTRODUCTION_CHARS,
};
pub use round::{RoundKind, RoundState};
pub use round_settings::{Nudge, RoundSettings, RoundSettingsInput};
pub use schedule::{local_label, Schedule};
pub use slug::{Slug, RESERVED_SLUGS};
pub use text::{is_invisible_formatting, unprintable, PersonName, ShortText};
pub use text_or_number::{text_or_number, TextOrNumber};
pub use trial::{
    check, FieldError, TrialInput, TrialKind, TrialSettings, DEFAULT_FEEDBACK_DELAY_DAYS,
    DEFAULT_NOTICE_HOURS, MAX_NOTICE_HOURS,
};
pub use webhook::{
    chat_body, envelope, events_from_text, events_to_text, round_announcement, shown_url,
    EndpointChoice, EndpointKind, PersonPayload, WebhookEvent,
};
