//! The pairing email: who you are meeting, how to go about it, and a calendar suggestion.
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};

use crate::domain::{MeetingMode, RoundSettings};
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
    /// The suggested time in the trial's zone; empty when no calendar file is attached.
    pub suggested_slot: String,
    /// How the group can meet ("in person (both on site at Royal Infirmary) or video").
    pub how_to_meet: String,
    /// False when the group shares no way to meet (the organiser chose to keep it).
    pub can_meet: bool,
    /// Who makes the first move this round; empty when nobody was named (an event).
    pub first_mover: String,
    pub first_mover_is_me: bool,
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
        names_list(&names)
    }
}

fn names_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

email_templates!(
    "pairing",
    "email/pairing/subject.txt",
    "email/pairing/text.txt",
    "email/pairing/html.html"
);

/// The midway nudge: a short reminder, with the partners' details again.
pub mod nudge {
    #[derive(Clone, Debug)]
    pub struct Context {
        pub name: String,
        pub trial_name: String,
        pub round_number: i64,
        pub partners: Vec<super::Partner>,
        pub how_to_meet: String,
        pub first_mover: String,
        pub first_mover_is_me: bool,
        pub feedback_link: String,
        pub manage_link: String,
        pub unsubscribe_link: String,
    }

    impl Context {
        pub fn partner_names(&self) -> String {
            let names: Vec<&str> = self.partners.iter().map(|p| p.name.as_str()).collect();
            super::names_list(&names)
        }
    }

    email_templates!(
        "nudge",
        "email/nudge/subject.txt",
        "email/nudge/text.txt",
        "email/nudge/html.html"
    );
}

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

/// What a partner's card shows.
pub fn partner(p: &GroupMember) -> Partner {
    Partner {
        name: p.name.clone(),
        email: p.email.clone().unwrap_or_default(),
        attribute_value: p.attribute_value.clone(),
        role: p.role.clone(),
        site: p.site.clone(),
        meeting_modes: modes_label(&p.meeting_modes),
        introduction: p.introduction.clone(),
    }
}

/// What the group's emails share: how they can meet, who moves first, and when.
#[derive(Clone, Debug, Default)]
pub struct GroupFacts {
    pub how_to_meet: String,
    pub can_meet: bool,
    /// The first mover's membership, if one was named.
    pub first_mover: Option<i64>,
    /// The suggested time's label; empty without a calendar file.
    pub slot_label: String,
}

pub fn context(
    trial: &Trial,
    round: &Round,
    me: &GroupMember,
    partners: &[&GroupMember],
    facts: &GroupFacts,
    base_url: &url::Url,
) -> Context {
    let first_mover = facts
        .first_mover
        .and_then(|id| {
            std::iter::once(me)
                .chain(partners.iter().copied())
                .find(|m| m.membership_id == id)
        })
        .map(|m| m.name.clone())
        .unwrap_or_default();
    Context {
        name: me.name.clone(),
        trial_name: trial.name.clone(),
        attribute_name: trial.attribute_name.clone(),
        round_number: round.number,
        partners: partners.iter().map(|p| partner(p)).collect(),
        prompt: PROMPTS[(round.number.unsigned_abs() as usize) % PROMPTS.len()],
        suggested_slot: facts.slot_label.clone(),
        how_to_meet: facts.how_to_meet.clone(),
        can_meet: facts.can_meet,
        first_mover_is_me: facts.first_mover == Some(me.membership_id),
        first_mover,
        technique_link: crate::links::link(base_url, "/techniques/randomised-coffee-trials"),
        manage_link: String::new(),
        unsubscribe_link: String::new(),
        feedback_link: String::new(),
        table_label: me.table_label.clone().filter(|t| !t.is_empty()),
    }
}

/// A half-hour suggestion for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub local_label: String,
}

/// How many working days ahead suggestions are spread over.
pub const SPREAD_WORKING_DAYS: usize = 5;

/// One suggested half-hour for each of `count` groups, spread evenly over the half-hours of the
/// next [`SPREAD_WORKING_DAYS`] working days (from tomorrow, in the trial's zone, within its
/// working hours), so that groups do not all get the same time. `offset` (the round's seed)
/// shifts where the spread starts; with more groups than half-hours some share one.
pub fn spread_slots(
    time_zone: &str,
    settings: &RoundSettings,
    now: DateTime<Utc>,
    count: usize,
    offset: u64,
) -> Vec<Slot> {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let mut days = Vec::new();
    let mut day = now.with_timezone(&tz).date_naive();
    while days.len() < SPREAD_WORKING_DAYS {
        day += Duration::days(1);
        if settings.days.contains(&day.weekday()) {
            days.push(day);
        }
    }
    let mut starts: Vec<NaiveTime> = Vec::new();
    let mut t = settings.start;
    while t + Duration::minutes(30) <= settings.end {
        starts.push(t);
        t += Duration::minutes(30);
    }
    if starts.is_empty() {
        starts.push(settings.start);
    }
    // Half-hour k is day k / per_day at time k % per_day. Stepping by a stride coprime with the
    // total visits every half-hour once before any twice, spread over the days and the hours.
    let per_day = starts.len();
    let total = days.len() * per_day;
    let mut stride = (total / count.max(1)).max(1);
    while gcd(stride, total) != 1 {
        stride += 1;
    }
    let first = (offset % total as u64) as usize;
    (0..count)
        .map(|i| {
            let k = (first + i * stride) % total;
            local_slot(tz, days[k / per_day], starts[k % per_day])
        })
        .collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn local_slot(tz: chrono_tz::Tz, day: chrono::NaiveDate, time: NaiveTime) -> Slot {
    let local = day.and_time(time);
    // A time skipped by a clock change falls back to an hour later.
    let start = tz
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local));
    let shown = start.with_timezone(&tz);
    Slot {
        start,
        end: start + Duration::minutes(30),
        local_label: format!(
            "{} at {} ({})",
            shown.format("%A %-d %B"),
            shown.format("%H:%M"),
            tz.name()
        ),
    }
}

/// The sender of the invitation, who also sends the emails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organiser {
    pub name: String,
    pub email: String,
}

impl Organiser {
    pub fn from_mailbox(m: &lettre::message::Mailbox) -> Self {
        Organiser {
            name: m.name.clone().unwrap_or_else(|| "coffee-trials".into()),
            email: m.email.to_string(),
        }
    }

    /// The sender when none is configured, as the settings derive it from the public address.
    pub fn default_for(base_url: &url::Url) -> Self {
        let host = base_url
            .host_str()
            .filter(|h| !h.contains(':'))
            .unwrap_or("localhost");
        Organiser {
            name: "coffee-trials".into(),
            email: format!("coffee-trials@{host}"),
        }
    }
}

/// One shared invitation for a group: every member's email carries the same file, so calendars
/// see one event (one UID) with the organiser and every member as attendees.
pub struct Invitation<'a> {
    /// Stable for the group: the same in every member's file.
    pub uid: String,
    pub slot: &'a Slot,
    pub organiser: &'a Organiser,
    /// (name, address) of every member who has a confirmed address.
    pub attendees: Vec<(&'a str, &'a str)>,
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
    pub now: DateTime<Utc>,
}

/// The `.ics` text (RFC 5545, METHOD:REQUEST as RFC 5546 asks for an invitation with an
/// organiser and attendees): CRLF line ends, lines folded at 75 octets.
pub fn ics_invitation(inv: &Invitation) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//coffee-trials//pairing//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:REQUEST".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}", inv.uid),
        format!("DTSTAMP:{}", stamp(inv.now)),
        format!("DTSTART:{}", stamp(inv.slot.start)),
        format!("DTEND:{}", stamp(inv.slot.end)),
        "SEQUENCE:0".into(),
        "STATUS:CONFIRMED".into(),
        "TRANSP:OPAQUE".into(),
        format!("SUMMARY:{}", ics_text(&inv.summary)),
        format!("DESCRIPTION:{}", ics_text(&inv.description)),
    ];
    if let Some(location) = &inv.location {
        lines.push(format!("LOCATION:{}", ics_text(location)));
    }
    lines.push(format!(
        "ORGANIZER;CN={}:mailto:{}",
        param_text(&inv.organiser.name),
        inv.organiser.email
    ));
    for (name, email) in &inv.attendees {
        lines.push(format!(
            "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN={}:mailto:{email}",
            param_text(name)
        ));
    }
    lines.extend(["END:VEVENT".to_string(), "END:VCALENDAR".into()]);
    lines.iter().map(|l| fold(l)).collect()
}

/// The outbox's attachment JSON for an invitation.
pub fn ics_attachment(ics: &str) -> String {
    serde_json::json!([{
        "filename": "invite.ics",
        "content_type": "text/calendar; charset=utf-8; method=REQUEST",
        "content": ics,
    }])
    .to_string()
}

/// RFC 5545 text: backslash, semicolon, comma and line breaks are escaped.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// A parameter value (a name after CN=): always quoted, so colons, commas and semicolons in
/// it are safe; a double quote and control characters cannot appear in one, so they go.
fn param_text(s: &str) -> String {
    let clean: String = s.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    format!("\"{clean}\"")
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
    use chrono::Weekday;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slots_follow_daylight_saving_in_london_and_skip_the_weekend() {
        let d = RoundSettings::default();
        // Friday 27 March 2026: the first working day ahead is Monday 30 March, after the
        // clocks went forward; 10:00 in London is then 09:00 UTC.
        let slots = spread_slots("Europe/London", &d, at("2026-03-27T12:00:00Z"), 1, 0);
        assert_eq!(slots[0].start, at("2026-03-30T09:00:00Z"));
        assert!(slots[0].local_label.starts_with("Monday 30 March at 10:00"));
        // An unknown zone falls back to UTC rather than failing the round.
        let slots = spread_slots("Mars/Olympus", &d, at("2026-11-24T12:00:00Z"), 1, 0);
        assert_eq!(slots[0].start, at("2026-11-25T10:00:00Z"));
    }

    #[test]
    fn groups_are_spread_over_working_days_and_hours() {
        let d = RoundSettings::default();
        let slots = spread_slots("Europe/London", &d, at("2026-11-23T12:00:00Z"), 12, 7);
        let tz: chrono_tz::Tz = "Europe/London".parse().unwrap();
        let distinct: std::collections::HashSet<_> = slots.iter().map(|s| s.start).collect();
        assert_eq!(distinct.len(), 12, "twelve groups, twelve different times");
        let days: std::collections::HashSet<_> = slots
            .iter()
            .map(|s| s.start.with_timezone(&tz).date_naive())
            .collect();
        assert_eq!(days.len(), SPREAD_WORKING_DAYS, "every working day is used");
        for s in &slots {
            let local = s.start.with_timezone(&tz);
            assert!(!matches!(local.weekday(), Weekday::Sat | Weekday::Sun));
            let t = local.time();
            assert!(t >= d.start && t + Duration::minutes(30) <= d.end, "{t}");
        }
        let hours: std::collections::HashSet<_> = slots
            .iter()
            .map(|s| s.start.with_timezone(&tz).time())
            .collect();
        assert!(hours.len() > 1, "not all at the same time of day");
        // Chosen days and hours are honoured.
        let custom = RoundSettings {
            days: vec![Weekday::Tue],
            start: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
            ..RoundSettings::default()
        };
        for s in spread_slots("UTC", &custom, at("2026-11-23T12:00:00Z"), 5, 3) {
            assert_eq!(s.start.weekday(), Weekday::Tue);
            assert!(s.start.time() >= custom.start && s.end.time() <= custom.end);
        }
    }

    #[test]
    fn ics_lines_are_escaped_and_folded() {
        assert_eq!(ics_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let folded = fold(&"x".repeat(200));
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", "").trim_end(), "x".repeat(200));
        assert_eq!(param_text("O\"Brien: A, B"), "\"OBrien: A, B\"");
    }
}
