use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;

use super::{Schedule, ShortText, Slug};

/// A problem with one field of a form or JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Collects field errors so a form can show all of them at once.
pub fn check<T>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    result: Result<T, String>,
) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(message) => {
            errors.push(FieldError { field, message });
            None
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialKind {
    /// Rounds every week or month across an organisation.
    Programme,
    /// Quick rounds in one room on one day.
    Event,
}

impl TrialKind {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "" | "programme" => Ok(TrialKind::Programme),
            "event" => Ok(TrialKind::Event),
            _ => Err("choose a recurring programme or an event".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrialKind::Programme => "programme",
            TrialKind::Event => "event",
        }
    }

    /// The kind as stored; `None` for text this code never writes.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "programme" => Some(TrialKind::Programme),
            "event" => Some(TrialKind::Event),
            _ => None,
        }
    }
}

impl std::fmt::Display for TrialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The raw values of the trial form or API body.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TrialInput {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub kind: String,
    pub attribute_name: String,
    /// One allowed value per line (or comma-separated); empty means free text.
    pub attribute_values: String,
    #[serde(deserialize_with = "super::text_or_number")]
    #[schema(value_type = Option<super::TextOrNumber>)]
    pub group_size: String,
    pub open_for_signup: bool,
    /// Listed on the front page (while open for sign-up); off unless an organiser says so.
    pub show_on_home: bool,
    /// IANA name such as Europe/London; empty means UTC.
    pub time_zone: String,
    /// Cron or words (see `Schedule`); empty means rounds are started by hand.
    pub schedule: String,
    /// Publish scheduled rounds at once, or keep them as drafts for approval.
    pub auto_publish: bool,
    #[serde(deserialize_with = "super::text_or_number")]
    #[schema(value_type = Option<super::TextOrNumber>)]
    pub notice_hours: String,
    #[serde(deserialize_with = "super::text_or_number")]
    #[schema(value_type = Option<super::TextOrNumber>)]
    pub feedback_delay_days: String,
    pub event_date: String,
    pub event_place: String,
    #[serde(deserialize_with = "super::text_or_number")]
    #[schema(value_type = Option<super::TextOrNumber>)]
    pub event_planned_rounds: String,
    #[serde(deserialize_with = "super::text_or_number")]
    #[schema(value_type = Option<super::TextOrNumber>)]
    pub event_round_minutes: String,
}

/// New trials are open for sign-up unless the organiser says otherwise.
impl Default for TrialInput {
    fn default() -> Self {
        Self {
            name: String::new(),
            slug: String::new(),
            description: String::new(),
            kind: String::new(),
            attribute_name: String::new(),
            attribute_values: String::new(),
            group_size: String::new(),
            open_for_signup: true,
            show_on_home: false,
            time_zone: String::new(),
            schedule: String::new(),
            auto_publish: false,
            notice_hours: String::new(),
            feedback_delay_days: String::new(),
            event_date: String::new(),
            event_place: String::new(),
            event_planned_rounds: String::new(),
            event_round_minutes: String::new(),
        }
    }
}

/// A trial's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialSettings {
    pub name: String,
    pub slug: Slug,
    pub description: String,
    pub kind: TrialKind,
    pub attribute_name: String,
    pub attribute_values: Vec<String>,
    pub group_size: i64,
    pub open_for_signup: bool,
    pub show_on_home: bool,
    pub time_zone: Tz,
    pub schedule: Option<Schedule>,
    pub auto_publish: bool,
    /// 0 means no notice.
    pub notice_hours: i64,
    pub feedback_delay_days: i64,
    pub event_date: Option<NaiveDate>,
    pub event_place: Option<String>,
    pub event_planned_rounds: Option<i64>,
    pub event_round_minutes: Option<i64>,
}

pub const DEFAULT_NOTICE_HOURS: i64 = 48;
/// Two weeks: a notice earlier than that is forgotten before the round.
pub const MAX_NOTICE_HOURS: i64 = 336;
pub const DEFAULT_FEEDBACK_DELAY_DAYS: i64 = 7;

pub const MAX_ATTRIBUTE_VALUES: usize = 200;

/// Event dates outside these years are typing mistakes (chrono reads years up to 262142, which
/// some databases and every reader would stumble on).
pub const MIN_EVENT_YEAR: i32 = 2000;
pub const MAX_EVENT_YEAR: i32 = 2100;

impl TryFrom<&TrialInput> for TrialSettings {
    type Error = Vec<FieldError>;

    fn try_from(input: &TrialInput) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let name = check(
            &mut errors,
            "name",
            ShortText::parse(&input.name, 100, false).and_then(|n| {
                if n.as_str().is_empty() {
                    Err("enter a name for the trial".to_string())
                } else {
                    Ok(n.into_string())
                }
            }),
        );
        let slug = check(&mut errors, "slug", Slug::parse(&input.slug));
        let description = check(
            &mut errors,
            "description",
            ShortText::parse(&input.description, 2000, true),
        );
        let kind = check(&mut errors, "kind", TrialKind::parse(&input.kind));
        let attribute_name = check(
            &mut errors,
            "attribute_name",
            ShortText::parse(&input.attribute_name, 50, false).map(|t| {
                if t.as_str().is_empty() {
                    "Department".to_string()
                } else {
                    t.into_string()
                }
            }),
        );
        let attribute_values = check(
            &mut errors,
            "attribute_values",
            parse_values(&input.attribute_values),
        );
        let group_size = check(
            &mut errors,
            "group_size",
            match input.group_size.trim() {
                "" | "2" => Ok(2),
                "3" => Ok(3),
                _ => Err("choose pairs (2) or groups of three (3)".to_string()),
            },
        );
        let time_zone = check(&mut errors, "time_zone", parse_time_zone(&input.time_zone));
        let schedule = check(
            &mut errors,
            "schedule",
            match input.schedule.trim() {
                "" => Ok(None),
                text => Schedule::parse(text).map(Some),
            },
        );
        if kind == Some(TrialKind::Event) && !input.schedule.trim().is_empty() {
            errors.push(FieldError::new(
                "schedule",
                "an event runs its rounds in the room; schedules are for recurring programmes",
            ));
        }
        let notice_hours = check(
            &mut errors,
            "notice_hours",
            whole_number(
                &input.notice_hours,
                DEFAULT_NOTICE_HOURS,
                0,
                MAX_NOTICE_HOURS,
            )
            .map_err(|_| {
                format!("enter a number of hours from 0 (no notice) to {MAX_NOTICE_HOURS}")
            }),
        );
        let feedback_delay_days = check(
            &mut errors,
            "feedback_delay_days",
            whole_number(
                &input.feedback_delay_days,
                DEFAULT_FEEDBACK_DELAY_DAYS,
                1,
                60,
            )
            .map_err(|_| "enter a number of days from 1 to 60".to_string()),
        );
        let event_date = check(
            &mut errors,
            "event_date",
            match input.event_date.trim() {
                "" => Ok(None),
                d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| {
                        "enter the date as YYYY-MM-DD, for example 2026-12-07".to_string()
                    })
                    .and_then(|date| {
                        if (MIN_EVENT_YEAR..=MAX_EVENT_YEAR).contains(&date.year()) {
                            Ok(Some(date))
                        } else {
                            Err(format!(
                                "enter a date between the years {MIN_EVENT_YEAR} and {MAX_EVENT_YEAR}"
                            ))
                        }
                    }),
            },
        );
        let event_place = check(
            &mut errors,
            "event_place",
            ShortText::parse(&input.event_place, 200, false)
                .map(|t| Some(t.into_string()).filter(|p| !p.is_empty())),
        );
        let event_planned_rounds = check(
            &mut errors,
            "event_planned_rounds",
            optional_number(&input.event_planned_rounds, 1, 50).map_err(|_| {
                "enter a number of rounds from 1 to 50, or leave it empty".to_string()
            }),
        );
        let event_round_minutes = check(
            &mut errors,
            "event_round_minutes",
            optional_number(&input.event_round_minutes, 1, 120).map_err(|_| {
                "enter the minutes per round, from 1 to 120, or leave it empty".to_string()
            }),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TrialSettings {
            name: name.unwrap_or_default(),
            slug: slug.expect("checked"),
            description: description.map(ShortText::into_string).unwrap_or_default(),
            kind: kind.unwrap_or(TrialKind::Programme),
            attribute_name: attribute_name.unwrap_or_default(),
            attribute_values: attribute_values.unwrap_or_default(),
            group_size: group_size.unwrap_or(2),
            open_for_signup: input.open_for_signup,
            show_on_home: input.show_on_home,
            time_zone: time_zone.unwrap_or(Tz::UTC),
            schedule: schedule.flatten(),
            auto_publish: input.auto_publish,
            notice_hours: notice_hours.unwrap_or(DEFAULT_NOTICE_HOURS),
            feedback_delay_days: feedback_delay_days.unwrap_or(DEFAULT_FEEDBACK_DELAY_DAYS),
            event_date: event_date.flatten(),
            event_place: event_place.flatten(),
            event_planned_rounds: event_planned_rounds.flatten(),
            event_round_minutes: event_round_minutes.flatten(),
        })
    }
}

fn parse_time_zone(raw: &str) -> Result<Tz, String> {
    match raw.trim() {
        "" => Ok(Tz::UTC),
        name => name.parse::<Tz>().map_err(|_| {
            format!(
                "\"{name}\" is not a time zone we know; use a name such as Europe/London or UTC"
            )
        }),
    }
}

/// A whole number within bounds; empty means the default.
fn whole_number(raw: &str, default: i64, min: i64, max: i64) -> Result<i64, ()> {
    match raw.trim() {
        "" => Ok(default),
        n => n.parse().ok().filter(|n| (min..=max).contains(n)).ok_or(()),
    }
}

fn optional_number(raw: &str, min: i64, max: i64) -> Result<Option<i64>, ()> {
    match raw.trim() {
        "" => Ok(None),
        n => n
            .parse()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or(()),
    }
}

fn parse_values(raw: &str) -> Result<Vec<String>, String> {
    let mut values: Vec<String> = Vec::new();
    for part in raw.split(['\n', ',']) {
        let v = ShortText::parse(part, 60, false).map_err(|e| format!("each value: {e}"))?;
        if !v.as_str().is_empty() && !values.iter().any(|x| x.eq_ignore_ascii_case(v.as_str())) {
            values.push(v.into_string());
        }
    }
    if values.len() > MAX_ATTRIBUTE_VALUES {
        return Err(format!("use at most {MAX_ATTRIBUTE_VALUES} values"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TrialInput {
        TrialInput {
            name: "Nursing and friends".into(),
            slug: "nursing-2026".into(),
            attribute_values: "Nursing\nPharmacy, Estates\nnursing\n".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_form_becomes_settings() {
        let s = TrialSettings::try_from(&input()).unwrap();
        assert_eq!(s.attribute_name, "Department");
        assert_eq!(s.attribute_values, vec!["Nursing", "Pharmacy", "Estates"]);
        assert_eq!(s.kind, TrialKind::Programme);
        assert_eq!(s.group_size, 2);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = TrialInput {
            name: " ".into(),
            slug: "Not A Slug".into(),
            kind: "party".into(),
            group_size: "7".into(),
            ..Default::default()
        };
        let errors = TrialSettings::try_from(&bad).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["name", "slug", "kind", "group_size"]);
    }

    #[test]
    fn schedule_settings_have_defaults_and_bounds() {
        let s = TrialSettings::try_from(&input()).unwrap();
        assert_eq!(s.time_zone, Tz::UTC);
        assert_eq!(s.schedule, None);
        assert_eq!((s.notice_hours, s.feedback_delay_days), (48, 7));
        let good = TrialInput {
            time_zone: "Europe/London".into(),
            schedule: "every Monday at 09:00".into(),
            notice_hours: "0".into(),
            feedback_delay_days: "60".into(),
            event_date: "2026-12-07".into(),
            event_planned_rounds: "50".into(),
            event_round_minutes: "1".into(),
            ..input()
        };
        let s = TrialSettings::try_from(&good).unwrap();
        assert_eq!(s.time_zone, chrono_tz::Europe::London);
        assert_eq!(s.schedule.unwrap().to_string(), "every Monday at 09:00");
        assert_eq!(s.notice_hours, 0);
        assert_eq!(s.event_planned_rounds, Some(50));
        let bad = TrialInput {
            time_zone: "Europe/Atlantis".into(),
            schedule: "0 9 * *".into(),
            notice_hours: "337".into(),
            feedback_delay_days: "0".into(),
            event_date: "7/12/2026".into(),
            event_planned_rounds: "51".into(),
            event_round_minutes: "121".into(),
            ..input()
        };
        let fields: Vec<_> = TrialSettings::try_from(&bad)
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "time_zone",
                "schedule",
                "notice_hours",
                "feedback_delay_days",
                "event_date",
                "event_planned_rounds",
                "event_round_minutes"
            ]
        );
    }

    #[test]
    fn events_have_no_schedule() {
        let event = TrialInput {
            kind: "event".into(),
            schedule: "every Monday at 09:00".into(),
            ..input()
        };
        let errors = TrialSettings::try_from(&event).unwrap_err();
        assert_eq!(errors[0].field, "schedule");
    }

    #[test]
    fn json_numbers_are_read_as_text() {
        let input: TrialInput = serde_json::from_str(
            r#"{"name": "x", "notice_hours": 24, "event_round_minutes": null}"#,
        )
        .unwrap();
        assert_eq!(input.notice_hours, "24");
        assert_eq!(input.event_round_minutes, "");
    }

    #[test]
    fn json_group_size_may_be_a_number_or_text() {
        for body in [r#"{"group_size": 3}"#, r#"{"group_size": "3"}"#] {
            let input: TrialInput = serde_json::from_str(body).unwrap();
            assert_eq!(input.group_size, "3", "{body}");
        }
    }

    #[test]
    fn event_dates_stay_within_sane_years() {
        for (date, ok) in [
            ("2000-01-01", true),
            ("2100-12-31", true),
            ("1999-12-31", false),
            ("2101-01-01", false),
            ("+262142-01-01", false),
        ] {
            let input = TrialInput {
                event_date: date.into(),
                ..input()
            };
            let result = TrialSettings::try_from(&input);
            assert_eq!(result.is_ok(), ok, "{date}: {result:?}");
            if let Err(errors) = result {
                assert_eq!(errors[0].field, "event_date");
            }
        }
    }

    #[test]
    fn invisible_characters_are_refused_in_the_trial_name() {
        let input = TrialInput {
            name: "Lunch\u{202E}gnp.exe".into(),
            ..input()
        };
        let errors = TrialSettings::try_from(&input).unwrap_err();
        assert_eq!(errors[0].field, "name");
    }
}
