//! The pairing email: who you are meeting, how to go about it, and a calendar suggestion.
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};

use crate::domain::MeetingMode;
use crate::store::rounds::{GroupMember, Round};
use crate::store::trials::Trial;

/// Questions that get a first conversation going; one per round, in turn.
const PROMPTS: &[&str] = &[
    "What are you working on at the moment that you would like more people to know about?",
    "What is one thing about your job that someone in another team would be surprised by?",
    "Who helped you most when you started here, and how?",
    "What problem would you solve tomorrow if you had a free week?",
    "What have you learned recently that changed how you work?",
];

#[derive(Clone, Debug)]
pub struct Partner {
    pub name: String,
    pub email: String,
    pub attribute_value: String,
    pub role: String,
    pub site: String,
    pub meeting_modes: String,
    pub introduction: String,
}

#[derive(Clone, Debug)]
pub struct Context {
    pub name: String,
    pub trial_name: String,
    pub attribute_name: String,
    pub round_number: i64,
    pub partners: Vec<Partner>,
    pub prompt: &'static str,
    pub suggested_slot: String,
    pub technique_link: String,
    /// The person's own page: details, pause, skip, leave.
    pub manage_link: String,
    pub unsubscribe_link: String,
    /// "Did you meet?" for this group; empty for an event's quick rounds.
    pub feedback_link: String,
    /// Where the group meets at an event ("Table 3"); None for ordinary rounds.
    pub table_label: Option<String>,
}

impl Context {
    pub fn partner_names(&self) -> String {
        let names: Vec<&str> = self.partners.iter().map(|p| p.name.as_str()).collect();
        match names.as_slice() {
            [] => String::new(),
            [one] => one.to_string(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

email_templates!(
    "pairing",
    "email/pairing/subject.txt",
    "email/pairing/text.txt",
    "email/pairing/html.html"
);

fn modes_label(stored: &str) -> String {
    let modes = MeetingMode::parse_list(&[stored.to_string()]).unwrap_or_default();
    if modes.is_empty() {
        return "any way that suits you both".into();
    }
    modes
        .iter()
        .map(|m| m.label())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn context(
    trial: &Trial,
    round: &Round,
    me: &GroupMember,
    partners: &[&GroupMember],
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Context {
    let slot = suggested_slot(&trial.time_zone, now);
    Context {
        name: me.name.clone(),
        trial_name: trial.name.clone(),
        attribute_name: trial.attribute_name.clone(),
        round_number: round.number,
        partners: partners
            .iter()
            .map(|p| Partner {
                name: p.name.clone(),
                email: p.email.clone().unwrap_or_default(),
                attribute_value: p.attribute_value.clone(),
                role: p.role.clone(),
                site: p.site.clone(),
                meeting_modes: modes_label(&p.meeting_modes),
                introduction: p.introduction.clone(),
            })
            .collect(),
        prompt: PROMPTS[(round.number.unsigned_abs() as usize) % PROMPTS.len()],
        suggested_slot: slot.local_label,
        technique_link: crate::links::link(base_url, "/techniques/randomised-coffee-trials"),
        manage_link: String::new(),
        unsubscribe_link: String::new(),
        feedback_link: String::new(),
        table_label: me.table_label.clone().filter(|t| !t.is_empty()),
    }
}

/// A half-hour suggestion: 10:30 on the next working day, in the trial's time zone.
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub local_label: String,
}

pub fn suggested_slot(time_zone: &str, now: DateTime<Utc>) -> Slot {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let mut day = now.with_timezone(&tz).date_naive() + Duration::days(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day += Duration::days(1);
    }
    let local = day.and_time(NaiveTime::from_hms_opt(10, 30, 0).expect("a valid time"));
    // 10:30 exists on every day (clocks change at night), so the earliest match is the one.
    let start = tz
        .from_local_datetime(&local)
        .earliest()
        .expect("10:30 exists")
        .with_timezone(&Utc);
    Slot {
        start,
        end: start + Duration::minutes(30),
        local_label: format!("{} at 10:30 ({})", day.format("%A %-d %B"), tz.name()),
    }
}

/// The calendar file attached to the email, as the outbox's attachment JSON.
pub fn ics_attachment(
    trial: &Trial,
    round: &Round,
    me: &GroupMember,
    partners: &[&GroupMember],
    now: DateTime<Utc>,
) -> String {
    let slot = suggested_slot(&trial.time_zone, now);
    let names: Vec<&str> = partners.iter().map(|p| p.name.as_str()).collect();
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//coffee-trials//pairing//EN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:round-{}-{}@coffee-trials", round.id, me.public_id),
        format!("DTSTAMP:{}", stamp(now)),
        format!("DTSTART:{}", stamp(slot.start)),
        format!("DTEND:{}", stamp(slot.end)),
        format!("SUMMARY:{}", ics_text(&format!("Coffee with {}", names.join(" and ")))),
        format!(
            "DESCRIPTION:{}",
            ics_text(&format!("{}: a suggested time for your half-hour conversation. Move it to whatever suits you both.", trial.name))
        ),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ];
    let body: String = lines.iter().map(|l| fold(l)).collect();
    serde_json::json!([{ "filename": "coffee.ics", "content_type": "text/calendar; charset=utf-8; method=PUBLISH", "content": body }]).to_string()
}

/// RFC 5545 text: backslash, semicolon, comma and line breaks are escaped.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_slot_follows_daylight_saving_in_london() {
        // Friday 27 March 2026: the suggestion is Monday 30 March, after the clocks went forward.
        let slot = suggested_slot("Europe/London", at("2026-03-27T12:00:00Z"));
        assert_eq!(slot.start, at("2026-03-30T09:30:00Z"));
        assert!(slot.local_label.starts_with("Monday 30 March at 10:30"));
        // In winter London is on UTC.
        assert_eq!(
            suggested_slot("Europe/London", at("2026-11-24T12:00:00Z")).start,
            at("2026-11-25T10:30:00Z")
        );
        // An unknown zone falls back to UTC rather than failing the round.
        assert_eq!(
            suggested_slot("Mars/Olympus", at("2026-11-24T12:00:00Z")).start,
            at("2026-11-25T10:30:00Z")
        );
    }

    #[test]
    fn ics_lines_are_escaped_and_folded() {
        assert_eq!(ics_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let folded = fold(&"x".repeat(200));
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", "").trim_end(), "x".repeat(200));
    }
}
