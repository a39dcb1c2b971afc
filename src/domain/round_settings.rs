//! How a trial's rounds are run and emailed, beside the trial's own settings: whether in-person
//! pairs need the same site, when suggested meetings may fall, and the midway nudge.
use chrono::{NaiveTime, Weekday};

use super::FieldError;

/// The raw values of the form or API body (all optional: a missing field takes the default).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RoundSettingsInput {
    /// In-person pairs only when both named the same site.
    pub same_site_only: bool,
    /// Working days for suggested meetings, e.g. "Mon,Tue,Wed,Thu,Fri" or "Mon-Fri".
    pub slot_days: String,
    /// The first and last suggested times are within these hours ("10:00" to "16:00").
    pub slot_start: String,
    pub slot_end: String,
    /// "off", "half" (halfway to the feedback email) or a whole number of days after publishing
    /// (JSON clients may send the number as a number).
    #[serde(deserialize_with = "super::text_or_number")]
    #[schema(value_type = Option<super::TextOrNumber>)]
    pub nudge: String,
}

impl Default for RoundSettingsInput {
    fn default() -> Self {
        RoundSettings::default().to_input()
    }
}

/// When the midway nudge goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nudge {
    Off,
    /// Halfway between publication and the feedback email.
    Half,
    /// This many days after publication.
    Days(i64),
}

impl Nudge {
    pub const MAX_DAYS: i64 = 60;

    pub fn parse(s: &str) -> Result<Nudge, String> {
        let s = s.trim().to_ascii_lowercase();
        let days = s
            .strip_suffix("days")
            .or_else(|| s.strip_suffix("day"))
            .or_else(|| s.strip_suffix('d'))
            .unwrap_or(&s)
            .trim();
        match s.as_str() {
            "" | "off" | "no" | "none" => return Ok(Nudge::Off),
            "half" | "halfway" | "midway" => return Ok(Nudge::Half),
            _ => {}
        }
        match days.parse::<i64>() {
            Ok(0) => Ok(Nudge::Off),
            Ok(n @ 1..=Nudge::MAX_DAYS) => Ok(Nudge::Days(n)),
            _ => Err(format!(
                "write off, half, or a number of days from 1 to {}",
                Nudge::MAX_DAYS
            )),
        }
    }

    /// The stored form: "off", "half" or "3d".
    pub fn as_stored(self) -> String {
        match self {
            Nudge::Off => "off".into(),
            Nudge::Half => "half".into(),
            Nudge::Days(n) => format!("{n}d"),
        }
    }

    /// Hours after publication, given the trial's feedback delay; None when off.
    pub fn after_hours(self, feedback_delay_days: i64) -> Option<i64> {
        match self {
            Nudge::Off => None,
            Nudge::Half => Some(feedback_delay_days.max(1) * 12),
            Nudge::Days(n) => Some(n * 24),
        }
    }
}

/// Checked round settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundSettings {
    pub same_site_only: bool,
    /// Never empty, Monday first.
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    /// After `start` by at least half an hour.
    pub end: NaiveTime,
    pub nudge: Nudge,
}

impl Default for RoundSettings {
    fn default() -> Self {
        RoundSettings {
            same_site_only: false,
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            start: NaiveTime::from_hms_opt(10, 0, 0).expect("a valid time"),
            end: NaiveTime::from_hms_opt(16, 0, 0).expect("a valid time"),
            nudge: Nudge::Off,
        }
    }
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() < 2 {
        return None;
    }
    WEEK.into_iter().find(|d| {
        let full = match d {
            Weekday::Mon => "monday",
            Weekday::Tue => "tuesday",
            Weekday::Wed => "wednesday",
            Weekday::Thu => "thursday",
            Weekday::Fri => "friday",
            Weekday::Sat => "saturday",
            Weekday::Sun => "sunday",
        };
        full.starts_with(&s) && s.len() >= 2
    })
}

/// "Mon,Tue,Fri", "Mon-Fri", "monday to friday" (ranges run forward through the week).
pub fn parse_days(s: &str) -> Result<Vec<Weekday>, String> {
    let message = "list working days such as Mon,Tue,Wed,Thu,Fri or Mon-Fri";
    let mut chosen = [false; 7];
    let normalised = s.replace(" to ", "-");
    for part in normalised
        .split([',', ';', ' '])
        .filter(|p| !p.trim().is_empty())
    {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (
                    weekday(a).ok_or(message)?.num_days_from_monday() as usize,
                    weekday(b).ok_or(message)?.num_days_from_monday() as usize,
                );
                let mut i = a;
                loop {
                    chosen[i] = true;
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => chosen[weekday(part).ok_or(message)?.num_days_from_monday() as usize] = true,
        }
    }
    let days: Vec<Weekday> = WEEK
        .into_iter()
        .filter(|d| chosen[d.num_days_from_monday() as usize])
        .collect();
    if days.is_empty() {
        return Err(message.into());
    }
    Ok(days)
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

impl RoundSettings {
    pub fn days_stored(&self) -> String {
        self.days
            .iter()
            .map(|d| day_name(*d).to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn to_input(&self) -> RoundSettingsInput {
        RoundSettingsInput {
            same_site_only: self.same_site_only,
            slot_days: self
                .days
                .iter()
                .map(|d| day_name(*d))
                .collect::<Vec<_>>()
                .join(","),
            slot_start: self.start.format("%H:%M").to_string(),
            slot_end: self.end.format("%H:%M").to_string(),
            nudge: self.nudge.as_stored(),
        }
    }

    /// From the stored columns; anything unreadable falls back to the default for that part.
    pub fn from_stored(
        same_site_only: bool,
        days: &str,
        start: &str,
        end: &str,
        nudge: &str,
    ) -> Self {
        let d = RoundSettings::default();
        RoundSettings {
            same_site_only,
            days: parse_days(days).unwrap_or(d.days),
            start: parse_time(start).unwrap_or(d.start),
            end: parse_time(end).unwrap_or(d.end),
            nudge: Nudge::parse(nudge).unwrap_or(d.nudge),
        }
    }
}

impl TryFrom<&RoundSettingsInput> for RoundSettings {
    type Error = Vec<FieldError>;

    fn try_from(input: &RoundSettingsInput) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let d = RoundSettings::default();
        let days = if input.slot_days.trim().is_empty() {
            d.days.clone()
        } else {
            parse_days(&input.slot_days).unwrap_or_else(|e| {
                errors.push(FieldError::new("slot_days", e));
                d.days.clone()
            })
        };
        let mut time = |field: &'static str, raw: &str, default: NaiveTime| {
            if raw.trim().is_empty() {
                return default;
            }
            parse_time(raw).unwrap_or_else(|| {
                errors.push(FieldError::new(field, "write a time such as 10:00"));
                default
            })
        };
        let start = time("slot_start", &input.slot_start, d.start);
        let end = time("slot_end", &input.slot_end, d.end);
        if errors
            .iter()
            .all(|e| e.field != "slot_start" && e.field != "slot_end")
            && end - start < chrono::Duration::minutes(30)
        {
            errors.push(FieldError::new(
                "slot_end",
                "the last time must be at least half an hour after the first",
            ));
        }
        let nudge = Nudge::parse(&input.nudge).unwrap_or_else(|e| {
            errors.push(FieldError::new("nudge", e));
            Nudge::Off
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RoundSettings {
            same_site_only: input.same_site_only,
            days,
            start,
            end,
            nudge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_as_lists_and_ranges() {
        assert_eq!(
            parse_days("Mon-Fri").unwrap(),
            RoundSettings::default().days
        );
        assert_eq!(
            parse_days("tuesday, thu").unwrap(),
            vec![Weekday::Tue, Weekday::Thu]
        );
        assert_eq!(
            parse_days("Sat to Mon").unwrap(),
            vec![Weekday::Mon, Weekday::Sat, Weekday::Sun]
        );
        assert!(parse_days("someday").is_err());
        assert!(parse_days("").is_err());
    }

    #[test]
    fn the_nudge_is_off_half_or_days() {
        assert_eq!(Nudge::parse("off").unwrap(), Nudge::Off);
        assert_eq!(Nudge::parse("").unwrap(), Nudge::Off);
        assert_eq!(Nudge::parse("Half").unwrap(), Nudge::Half);
        assert_eq!(Nudge::parse("3").unwrap(), Nudge::Days(3));
        assert_eq!(Nudge::parse("3d").unwrap(), Nudge::Days(3));
        assert_eq!(Nudge::parse("4 days").unwrap(), Nudge::Days(4));
        assert!(Nudge::parse("61").is_err());
        assert!(Nudge::parse("soon").is_err());
        assert_eq!(Nudge::Half.after_hours(7), Some(84));
        assert_eq!(Nudge::Days(2).after_hours(7), Some(48));
    }

    #[test]
    fn bad_hours_are_refused_with_the_field() {
        let input = RoundSettingsInput {
            slot_start: "15:50".into(),
            slot_end: "16:00".into(),
            ..Default::default()
        };
        let errors = RoundSettings::try_from(&input).unwrap_err();
        assert_eq!(errors[0].field, "slot_end");
        let input = RoundSettingsInput {
            slot_start: "ten".into(),
            ..Default::default()
        };
        assert_eq!(
            RoundSettings::try_from(&input).unwrap_err()[0].field,
            "slot_start"
        );
        // The defaults read back as they were written.
        let d = RoundSettings::default();
        assert_eq!(RoundSettings::try_from(&d.to_input()).unwrap(), d);
    }
}
