//! Layer: below `app`, beside `store`. May import `store` (outbox rows), `links`, `domain`,
//! `config` and `telemetry`; never `app`, `web` or `cli`. `app` calls it inside the same
//! transaction as the change an email reports.
//!
//! Emails: each one is a folder under `templates/email/` with a subject, a plain-text body and
//! an HTML body, rendered here into an outbox row. Delivery happens elsewhere.
use askama::Template;

use crate::store::outbox::NewEmail;

#[derive(Debug, thiserror::Error)]
#[error("cannot render the {template} email")]
pub struct RenderError {
    template: &'static str,
    #[source]
    source: askama::Error,
}

/// An email's three parts, each an askama template sharing one context.
pub trait EmailTemplate {
    const NAME: &'static str;
    type Subject: Template;
    type Text: Template;
    type Html: Template;
    fn parts(&self) -> (Self::Subject, Self::Text, Self::Html);
}

pub fn render<E: EmailTemplate>(email: &E, to_address: &str) -> Result<NewEmail, RenderError> {
    let err = |source| RenderError {
        template: E::NAME,
        source,
    };
    let (subject, text, html) = email.parts();
    Ok(NewEmail {
        template: E::NAME,
        to_address: to_address.to_string(),
        participant_id: None,
        round_id: None,
        subject: subject.render().map_err(err)?.trim().to_string(),
        body_text: text.render().map_err(err)?,
        body_html: html.render().map_err(err)?,
        headers_json: "{}".to_string(),
        attachments_json: "[]".to_string(),
    })
}

/// The domain used in Message-IDs: the public host name.
pub fn message_domain(base_url: &url::Url) -> String {
    base_url.host_str().unwrap_or("localhost").to_string()
}

/// Declares the three askama templates of one email (subject, text, HTML), each rendering the
/// module's `Context` as `c`, and ties them to the context with [`EmailTemplate`].
macro_rules! email_templates {
    ($name:literal, $subject:literal, $text:literal, $html:literal) => {
        #[derive(askama::Template)]
        #[template(path = $subject)]
        pub struct Subject {
            pub c: Context,
        }

        #[derive(askama::Template)]
        #[template(path = $text)]
        pub struct Text {
            pub c: Context,
        }

        #[derive(askama::Template)]
        #[template(path = $html)]
        pub struct Html {
            pub c: Context,
        }

        impl $crate::mail::EmailTemplate for Context {
            const NAME: &'static str = $name;
            type Subject = Subject;
            type Text = Text;
            type Html = Html;
            fn parts(&self) -> (Subject, Text, Html) {
                (
                    Subject { c: self.clone() },
                    Text { c: self.clone() },
                    Html { c: self.clone() },
                )
            }
        }
    };
}

pub mod foreground;
pub mod pairing;
pub mod recorder;
mod send_error;
mod smtp_pool;
pub mod transport;
pub mod worker;

pub mod organiser_invite {
    #[derive(Clone)]
    pub struct Context {
        pub link: String,
        pub expires_in_days: i64,
        /// The inviting organiser's address; empty when the site's operator invited from the
        /// command line.
        pub invited_by: String,
        /// The site's host name, so the person knows where they are invited to.
        pub site: String,
    }

    email_templates!(
        "organiser_invite",
        "email/organiser_invite/subject.txt",
        "email/organiser_invite/text.txt",
        "email/organiser_invite/html.html"
    );
}

/// Sent to an organiser when failed sign-ins to their account reach the hourly ceiling.
pub mod sign_in_attempts {
    #[derive(Clone)]
    pub struct Context {
        pub ceiling_per_hour: u32,
        pub console_link: String,
    }

    email_templates!(
        "sign_in_attempts",
        "email/sign_in_attempts/subject.txt",
        "email/sign_in_attempts/text.txt",
        "email/sign_in_attempts/html.html"
    );
}

/// Sent when an organiser has forgotten their password: a one-time link to choose another.
pub mod password_reset {
    #[derive(Clone)]
    pub struct Context {
        pub link: String,
        pub expires_in_minutes: i64,
    }

    email_templates!(
        "password_reset",
        "email/password_reset/subject.txt",
        "email/password_reset/text.txt",
        "email/password_reset/html.html"
    );
}

/// Sent after a sign-up: the link that confirms the address (and the manage link).
pub mod participant_confirm {
    #[derive(Clone)]
    pub struct Context {
        pub name: String,
        pub trial_name: String,
        pub confirm_link: String,
        pub manage_link: String,
        pub expires_in_days: i64,
        /// They had left this trial and signed up again.
        pub rejoining: bool,
    }

    email_templates!(
        "participant_confirm",
        "email/participant_confirm/subject.txt",
        "email/participant_confirm/text.txt",
        "email/participant_confirm/html.html"
    );
}

/// Sent when someone signs up with an address that is already taking part: nothing changed.
pub mod participant_already {
    #[derive(Clone)]
    pub struct Context {
        pub name: String,
        pub trial_name: String,
        pub manage_link: String,
    }

    email_templates!(
        "participant_already",
        "email/participant_already/subject.txt",
        "email/participant_already/text.txt",
        "email/participant_already/html.html"
    );
}

/// Sent some days after a round: did you meet? One link per answer, and a question to reflect on.
pub mod feedback {
    /// One answer, as a link that opens the feedback page with it chosen.
    #[derive(Clone, Debug)]
    pub struct AnswerLink {
        pub label: &'static str,
        pub url: String,
    }

    /// What the feedback email and its reminder both carry.
    #[derive(Clone, Debug)]
    pub struct Ask {
        pub name: String,
        pub trial_name: String,
        pub round_number: i64,
        pub partner_names: String,
        pub answers: Vec<AnswerLink>,
        /// The library's page on after-action reviews.
        pub reflection_link: String,
        pub manage_link: String,
        pub unsubscribe_link: String,
    }

    #[derive(Clone)]
    pub struct Context {
        pub ask: Ask,
    }

    email_templates!(
        "feedback",
        "email/feedback/subject.txt",
        "email/feedback/text.txt",
        "email/feedback/html.html"
    );
}

/// The one reminder after a "not yet" answer.
pub mod feedback_again {
    #[derive(Clone)]
    pub struct Context {
        pub ask: super::feedback::Ask,
    }

    email_templates!(
        "feedback_again",
        "email/feedback_again/subject.txt",
        "email/feedback_again/text.txt",
        "email/feedback_again/html.html"
    );
}

/// After several unanswered feedback emails: stay, pause or leave?
pub mod still_in {
    #[derive(Clone)]
    pub struct Context {
        pub name: String,
        pub trial_name: String,
        pub silent_rounds: usize,
        pub wait_days: i64,
        pub stay_link: String,
        pub pause_link: String,
        pub leave_link: String,
        pub manage_link: String,
    }

    email_templates!(
        "still_in",
        "email/still_in/subject.txt",
        "email/still_in/text.txt",
        "email/still_in/html.html"
    );
}

/// Before a scheduled round: when it is, with a link to skip it.
pub mod round_notice {
    #[derive(Clone)]
    pub struct Context {
        pub name: String,
        pub trial_name: String,
        /// "Monday 7 December 2026, 09:00 (Europe/London)"
        pub slot_label: String,
        pub skip_link: String,
        pub manage_link: String,
        pub unsubscribe_link: String,
    }

    email_templates!(
        "round_notice",
        "email/round_notice/subject.txt",
        "email/round_notice/text.txt",
        "email/round_notice/html.html"
    );
}

/// After an event: everyone the person met in its quick rounds, with a feedback link per group.
pub mod event_summary {
    /// Someone they met, with what they need to follow up.
    #[derive(Clone, Debug)]
    pub struct Person {
        pub name: String,
        pub attribute_value: String,
        pub role: String,
        pub email: String,
    }

    /// One quick round's group, seen from the person the email goes to.
    #[derive(Clone, Debug)]
    pub struct Meeting {
        pub round_number: i64,
        pub table_label: String,
        pub people: Vec<Person>,
        /// Opens the feedback page with "we met" picked.
        pub feedback_link: String,
    }

    #[derive(Clone)]
    pub struct Context {
        pub name: String,
        pub trial_name: String,
        pub attribute_name: String,
        pub meetings: Vec<Meeting>,
        pub manage_link: String,
        pub unsubscribe_link: String,
    }

    impl Context {
        /// Different people met: someone met in two rounds counts once.
        pub fn people_met(&self) -> usize {
            let mut seen = std::collections::HashSet::new();
            self.meetings
                .iter()
                .flat_map(|m| &m.people)
                .filter(|p| seen.insert((&p.name, &p.email)))
                .count()
        }
    }

    email_templates!(
        "event_summary",
        "email/event_summary/subject.txt",
        "email/event_summary/text.txt",
        "email/event_summary/html.html"
    );
}

/// Sent to a trial's organisers when a webhook endpoint that kept failing is switched off.
pub mod webhook_switched_off {
    #[derive(Clone)]
    pub struct Context {
        pub trial_name: String,
        /// The address with its path left out: chat channels' addresses are their secret.
        pub endpoint: String,
        pub failing_since: String,
        pub console_link: String,
    }

    email_templates!(
        "webhook_switched_off",
        "email/webhook_switched_off/subject.txt",
        "email/webhook_switched_off/text.txt",
        "email/webhook_switched_off/html.html"
    );
}
