//! When a trial's scheduled rounds happen: an ordinary five-field cron expression or a few
//! phrases in words ("every Monday at 09:00", "every 2 weeks on Friday at 12:30", "monthly on
//! the first Monday at 09:00"). Times are wall-clock times in the trial's time zone; turning
//! them into instants is done here, once, with explicit rules for the clock changes.
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;

const EXAMPLES: &str = "for example \"every Monday at 09:00\", \"every 2 weeks on Friday at 12:30\", \"monthly on the first Monday at 09:00\" or cron \"0 9 * * 1\"";

/// Fortnightly schedules without a start date count weeks from this Monday, so every instance
/// of the service (and every restart) agrees on which weeks are "on".
const FORTNIGHT_EPOCH: (i32, u32, u32) = (2024, 1, 1);

/// How far ahead `next_runs` looks before giving up (a cron expression can name 29 February).
const HORIZON_DAYS: i64 = 366 * 8;

#[derive(Clone, Debug)]
enum Rule {
    /// Converted to the cron crate's six fields with weekday names.
    Cron {
        expression: String,
        converted: Box<cron::Schedule>,
    },
    /// On these weekdays, every week.
    Weekly { days: Vec<Weekday>, time: NaiveTime },
    /// On one weekday every other week; `anchor` is the first run date (a `day`).
    Fortnightly {
        day: Weekday,
        time: NaiveTime,
        anchor: NaiveDate,
        start: Option<NaiveDate>,
    },
    /// Day `day` (1-28) of every month.
    MonthlyDay { day: u32, time: NaiveTime },
    /// The first..fourth (1-4) or last (5) given weekday of every month.
    MonthlyNth {
        nth: u8,
        day: Weekday,
        time: NaiveTime,
    },
}

/// A parsed schedule. Two schedules are equal when they describe the same rule.
#[derive(Clone, Debug)]
pub struct Schedule {
    rule: Rule,
    /// As the organiser wrote it, trimmed; this is what is stored.
    source: String,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.describe() == other.describe()
    }
}

impl Eq for Schedule {}

impl Schedule {
    /// Reads a schedule; the error is a sentence fit to show under the form field.
    pub fn parse(raw: &str) -> Result<Schedule, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(format!("enter a schedule, {EXAMPLES}"));
        }
        if text.len() > 200 {
            return Err("keep the schedule under 200 characters".into());
        }
        let starts_like_cron = text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '*');
        let rule = if starts_like_cron {
            parse_cron(text)?
        } else {
            parse_words(text)?
        };
        Ok(Schedule {
            rule,
            source: text.to_string(),
        })
    }

    /// The text as written, which `parse` reads back to the same schedule.
    pub fn as_written(&self) -> &str {
        &self.source
    }

    /// The next `n` runs strictly after `after`, as instants. A wall-clock time that does not
    /// exist on a day (the spring clock change) runs at the first instant after the gap; one
    /// that happens twice (autumn) runs at the earlier.
    pub fn next_runs(&self, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut runs: Vec<DateTime<Utc>> = Vec::with_capacity(n);
        if n == 0 {
            return runs;
        }
        // Start a day early in wall-clock time: a run moved forward out of a gap, or the
        // earlier of two ambiguous instants, may be after `after` although its wall time is not.
        let start = after.with_timezone(&tz).naive_local() - Duration::days(1);
        for local in self.local_times_from(start) {
            let instant = resolve(tz, local);
            if instant > after && runs.last().is_none_or(|last| instant > *last) {
                runs.push(instant);
                if runs.len() == n {
                    break;
                }
            }
        }
        runs
    }

    /// The latest run at or before `now` and strictly after `since`, if any.
    pub fn latest_run(
        &self,
        tz: Tz,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if now <= since {
            return None;
        }
        // Look back a little first; only a sparse schedule (say, once a year) needs more.
        for days in [40, 400, HORIZON_DAYS] {
            let from = (now - Duration::days(days)).max(since);
            let mut latest = None;
            let mut cursor = from;
            loop {
                let batch = self.next_runs(tz, cursor, 64);
                let Some(&last) = batch.last() else { break };
                for run in &batch {
                    if *run <= now {
                        latest = Some(*run);
                    }
                }
                if last > now || batch.len() < 64 {
                    break;
                }
                cursor = last;
            }
            if latest.is_some() || from == since {
                return latest;
            }
        }
        None
    }

    /// Wall-clock times of runs, in order, from `start` on (possibly a little before).
    fn local_times_from(
        &self,
        start: NaiveDateTime,
    ) -> Box<dyn Iterator<Item = NaiveDateTime> + '_> {
        let end = start.date() + Duration::days(HORIZON_DAYS);
        match &self.rule {
            Rule::Cron { converted, .. } => {
                // The cron crate counts in the zone it is given; UTC here means "wall clock".
                let from = Utc.from_utc_datetime(&start);
                Box::new(
                    converted
                        .after(&from)
                        .map(|t| t.naive_utc())
                        .take_while(move |t| t.date() <= end),
                )
            }
            rule => {
                let rule = rule.clone();
                Box::new(
                    start
                        .date()
                        .iter_days()
                        .take_while(move |d| *d <= end)
                        .filter_map(move |d| day_time(&rule, d).map(|t| d.and_time(t))),
                )
            }
        }
    }

    /// The schedule in words, as the console shows it.
    pub fn describe(&self) -> String {
        match &self.rule {
            Rule::Cron { expression, .. } => format!("cron \"{expression}\""),
            Rule::Weekly { days, time } => {
                let time = hhmm(*time);
                match days.len() {
                    7 => format!("every day at {time}"),
                    5 if !days.contains(&Weekday::Sat) && !days.contains(&Weekday::Sun) => {
                        format!("every weekday at {time}")
                    }
                    _ => format!("every {} at {time}", and_list(days)),
                }
            }
            Rule::Fortnightly {
                day, time, start, ..
            } => {
                let base = format!("every 2 weeks on {} at {}", day_name(*day), hhmm(*time));
                match start {
                    Some(s) => format!("{base} starting {s}"),
                    None => base,
                }
            }
            Rule::MonthlyDay { day, time } => format!("monthly on day {day} at {}", hhmm(*time)),
            Rule::MonthlyNth { nth, day, time } => format!(
                "monthly on the {} {} at {}",
                ["first", "second", "third", "fourth", "last"][usize::from(*nth - 1)],
                day_name(*day),
                hhmm(*time)
            ),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A run's time on `date` under a rule written in words, if it runs that day.
fn day_time(rule: &Rule, date: NaiveDate) -> Option<NaiveTime> {
    match rule {
        Rule::Cron { .. } => None,
        Rule::Weekly { days, time } => days.contains(&date.weekday()).then_some(*time),
        Rule::Fortnightly {
            day, time, anchor, ..
        } => (date.weekday() == *day && date >= *anchor && (date - *anchor).num_days() % 14 == 0)
            .then_some(*time),
        Rule::MonthlyDay { day, time } => (date.day() == *day).then_some(*time),
        Rule::MonthlyNth { nth, day, time } => {
            if date.weekday() != *day {
                return None;
            }
            let week = (date.day() - 1) / 7 + 1;
            let last = (date + Duration::days(7)).month() != date.month();
            (if *nth == 5 {
                last
            } else {
                week == u32::from(*nth)
            })
            .then_some(*time)
        }
    }
}

/// The instant of a wall-clock time in `tz`: the earlier of two in autumn, and in spring the
/// first instant after the gap.
pub fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = tz.from_local_datetime(&local).earliest() {
        return t.with_timezone(&Utc);
    }
    // Inside a gap: the first wall-clock minute that exists is where the clocks jumped to.
    let mut probe = local;
    for _ in 0..(24 * 60) {
        probe += Duration::minutes(1);
        let whole_minute = probe
            .with_second(0)
            .and_then(|p| p.with_nanosecond(0))
            .unwrap_or(probe);
        if let Some(t) = tz.from_local_datetime(&whole_minute).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    // No zone has a day-long gap; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&local)
}

/// "Monday 7 December 2026, 09:00 (Europe/London)"
pub fn local_label(tz: Tz, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    format!("{} ({})", local.format("%A %-d %B %Y, %H:%M"), tz.name())
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

fn and_list(days: &[Weekday]) -> String {
    let names: Vec<&str> = days.iter().map(|d| day_name(*d)).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------- cron

/// Cron weekday names in the cron crate's order, indexed by ordinary cron numbers (0 = Sunday).
const CRON_DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn parse_cron(text: &str) -> Result<Rule, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "a cron schedule has five fields (minute hour day-of-month month weekday), such as \"0 9 * * 1\"; this has {}",
            fields.len()
        ));
    }
    let (minute, hour, dom, month, dow) = (fields[0], fields[1], fields[2], fields[3], fields[4]);
    let minute_n: u32 = minute
        .parse()
        .ok()
        .filter(|m| *m < 60)
        .ok_or("in cron, give one minute from 0 to 59 (one round at one time of day)")?;
    let hour_n: u32 = hour
        .parse()
        .ok()
        .filter(|h| *h < 24)
        .ok_or("in cron, give one hour from 0 to 23 (one round at one time of day)")?;
    // "?" is cron's "no particular day", the same as "*" here.
    let dom = if dom == "?" { "*" } else { dom };
    if dom != "*" && dow != "*" && dow != "?" {
        return Err(
            "in cron, restrict either the day of the month or the weekday, not both".into(),
        );
    }
    let days = convert_weekdays(dow)?;
    let six = format!("0 {minute_n} {hour_n} {dom} {month} {days}");
    let converted = cron::Schedule::from_str(&six).map_err(|_| {
        format!("this cron expression cannot be read; check the day-of-month and month fields ({EXAMPLES})")
    })?;
    // The cron crate looks no further than 2100, so this is quick even for "30 February".
    let from = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single();
    if from.is_some_and(|f| converted.after(&f).next().is_none()) {
        return Err(format!(
            "this cron expression never runs (no month has that day); {EXAMPLES}"
        ));
    }
    Ok(Rule::Cron {
        expression: fields.join(" "),
        converted: Box::new(converted),
    })
}

/// The weekday field of ordinary cron (0-7, 0 and 7 both Sunday; names; lists, ranges and
/// steps) as the cron crate wants it: weekday names, because it numbers Sunday 1.
pub fn convert_weekdays(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let mut on = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| weekday_error(part))?,
            ),
            None => (part, 1),
        };
        let (first, last) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            // 7 is Sunday too; as the end of a range ("5-7") it closes the week.
            (weekday_number(a, part)?, weekday_number(b, part)?)
        } else {
            let one = weekday_number(range, part)? % 7;
            // "1/2" means from Monday to the end of the week, every other day.
            (one, if step > 1 { 6 } else { one })
        };
        if last < first || first == 7 {
            return Err(weekday_error(part));
        }
        for d in (first..=last).step_by(step) {
            on[d % 7] = true;
        }
    }
    Ok((0..7)
        .filter(|d| on[*d])
        .map(|d| CRON_DAYS[d])
        .collect::<Vec<_>>()
        .join(","))
}

fn weekday_number(s: &str, part: &str) -> Result<usize, String> {
    if let Ok(n) = s.parse::<usize>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(weekday_error(part))
        };
    }
    CRON_DAYS
        .iter()
        .position(|d| d.eq_ignore_ascii_case(s))
        .ok_or_else(|| weekday_error(part))
}

fn weekday_error(part: &str) -> String {
    format!("in cron, the weekday \"{part}\" is not one we understand: use 0-7 (0 and 7 are Sunday) or MON-SUN")
}

// ---------------------------------------------------------------- words

fn parse_words(text: &str) -> Result<Rule, String> {
    let lower = text.to_lowercase().replace(',', " ");
    let words: Vec<&str> = lower.split_whitespace().collect();
    let not_understood = || format!("this is not a schedule we understand; {EXAMPLES}");

    // Everything before "at" says which days; after it comes the time (and a start date).
    let at = words
        .iter()
        .position(|w| *w == "at")
        .ok_or_else(|| "say at what time, for example \"every Monday at 09:00\"".to_string())?;
    let (days_part, rest) = (&words[..at], &words[at + 1..]);
    let (time_words, start) = match rest.iter().position(|w| *w == "starting") {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let time = parse_time(&time_words.join(" "))?;
    let start = match start {
        None => None,
        Some([date]) => Some(NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
            "give the start date as YYYY-MM-DD, for example \"starting 2026-12-07\"".to_string()
        })?),
        Some(_) => {
            return Err(
                "give the start date as YYYY-MM-DD, for example \"starting 2026-12-07\"".into(),
            )
        }
    };

    match days_part {
        ["every", "2" | "two", "weeks", "on", day]
        | ["fortnightly", "on", day]
        | ["every", "other", day] => {
            let day = parse_day(day).ok_or_else(not_understood)?;
            let epoch =
                NaiveDate::from_ymd_opt(FORTNIGHT_EPOCH.0, FORTNIGHT_EPOCH.1, FORTNIGHT_EPOCH.2)
                    .expect("a valid date");
            let from = start.unwrap_or(epoch);
            let anchor = from
                .iter_days()
                .find(|d| d.weekday() == day)
                .expect("a weekday within a week");
            Ok(Rule::Fortnightly {
                day,
                time,
                anchor,
                start,
            })
        }
        _ if start.is_some() => {
            Err("a start date only applies to \"every 2 weeks on ...\" schedules".into())
        }
        ["monthly", "on", "day", n] | ["every", "month", "on", "day", n] => {
            let day: u32 = n
                .trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .parse()
                .map_err(|_| not_understood())?;
            if !(1..=28).contains(&day) {
                return Err(
                    "choose a day from 1 to 28, which every month has, or say \"the last Friday\""
                        .into(),
                );
            }
            Ok(Rule::MonthlyDay { day, time })
        }
        ["monthly", "on", "the", nth, day] | ["every", "month", "on", "the", nth, day] => {
            let nth = match *nth {
                "first" | "1st" => 1,
                "second" | "2nd" => 2,
                "third" | "3rd" => 3,
                "fourth" | "4th" => 4,
                "last" => 5,
                _ => {
                    return Err(
                        "say the first, second, third, fourth or last weekday of the month".into(),
                    )
                }
            };
            let day = parse_day(day).ok_or_else(not_understood)?;
            Ok(Rule::MonthlyNth { nth, day, time })
        }
        ["every", "day"] | ["daily"] => Ok(Rule::Weekly {
            days: all_days(),
            time,
        }),
        ["weekdays"] | ["every", "weekday"] | ["on", "weekdays"] => Ok(Rule::Weekly {
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            time,
        }),
        ["every", names @ ..] | ["weekly", "on", names @ ..] if !names.is_empty() => {
            let mut days: Vec<Weekday> = Vec::new();
            for name in names.iter().filter(|w| **w != "and") {
                let day = parse_day(name)
                    .ok_or_else(|| format!("\"{name}\" is not a day of the week; {EXAMPLES}"))?;
                if !days.contains(&day) {
                    days.push(day);
                }
            }
            if days.is_empty() {
                return Err(not_understood());
            }
            days.sort_by_key(|d| d.num_days_from_monday());
            Ok(Rule::Weekly { days, time })
        }
        _ => Err(not_understood()),
    }
}

fn all_days() -> Vec<Weekday> {
    (0..7)
        .filter_map(|i| Weekday::try_from(i as u8).ok())
        .collect()
}

fn parse_day(word: &str) -> Option<Weekday> {
    let w = word.trim_end_matches('s');
    let days = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    // "Mon", "Tues", "Thurs" and "Mondays" as well as "Monday".
    days.iter()
        .find(|(long, _)| w.len() >= 3 && long.starts_with(w))
        .map(|(_, d)| *d)
}

/// "09:00", "9:30", "9am", "12.30pm", "noon".
fn parse_time(s: &str) -> Result<NaiveTime, String> {
    let bad = || format!("\"{s}\" is not a time we understand; write it as 09:00, 9am or 12:30pm");
    let s = s.trim().replace(' ', "");
    if s == "noon" || s == "midday" {
        return Ok(NaiveTime::from_hms_opt(12, 0, 0).expect("a valid time"));
    }
    let (clock, pm) = if let Some(c) = s.strip_suffix("am") {
        (c, Some(false))
    } else if let Some(c) = s.strip_suffix("pm") {
        (c, Some(true))
    } else {
        (s.as_str(), None)
    };
    let (h, m) = match clock.split_once([':', '.']) {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return Err(bad()),
        None if pm.is_some() => (clock, "00"),
        None => return Err(bad()),
    };
    let (mut hour, minute): (u32, u32) =
        (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if let Some(pm) = pm {
        if !(1..=12).contains(&hour) {
            return Err(bad());
        }
        hour = match (hour, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn runs(schedule: &str, tz: &str, after: &str, n: usize) -> Vec<String> {
        Schedule::parse(schedule)
            .unwrap()
            .next_runs(tz.parse().unwrap(), at(after), n)
            .into_iter()
            .map(|t| t.to_rfc3339())
            .collect()
    }

    #[test]
    fn cron_weekdays_are_converted_to_names() {
        assert_eq!(convert_weekdays("1").unwrap(), "MON");
        assert_eq!(convert_weekdays("0").unwrap(), "SUN");
        assert_eq!(convert_weekdays("7").unwrap(), "SUN");
        assert_eq!(convert_weekdays("1-5").unwrap(), "MON,TUE,WED,THU,FRI");
        assert_eq!(convert_weekdays("MON-FRI").unwrap(), "MON,TUE,WED,THU,FRI");
        assert_eq!(convert_weekdays("5-7").unwrap(), "SUN,FRI,SAT");
        assert_eq!(convert_weekdays("0,6").unwrap(), "SUN,SAT");
        assert_eq!(convert_weekdays("*/2").unwrap(), "SUN,TUE,THU,SAT");
        assert_eq!(convert_weekdays("1/2").unwrap(), "MON,WED,FRI");
        assert_eq!(convert_weekdays("*").unwrap(), "*");
        assert!(convert_weekdays("8").is_err());
        assert!(convert_weekdays("5-2").is_err());
        assert!(convert_weekdays("funday").is_err());
    }

    #[test]
    fn ordinary_cron_runs_on_the_days_it_names() {
        // Wednesday 25 November 2026.
        assert_eq!(
            runs("0 9 * * 1", "UTC", "2026-11-25T12:00:00Z", 2),
            ["2026-11-30T09:00:00+00:00", "2026-12-07T09:00:00+00:00"]
        );
        // Sunday as 0 and as 7 is the same day.
        assert_eq!(
            runs("0 9 * * 0", "UTC", "2026-11-25T12:00:00Z", 1),
            runs("0 9 * * 7", "UTC", "2026-11-25T12:00:00Z", 1)
        );
        assert_eq!(
            runs("0 9 * * 0", "UTC", "2026-11-25T12:00:00Z", 1),
            ["2026-11-29T09:00:00+00:00"]
        );
        assert_eq!(
            runs("30 8 * * MON-FRI", "UTC", "2026-11-27T09:00:00Z", 2),
            ["2026-11-30T08:30:00+00:00", "2026-12-01T08:30:00+00:00"]
        );
        assert_eq!(
            runs("0 9 1 * *", "UTC", "2026-11-25T12:00:00Z", 2),
            ["2026-12-01T09:00:00+00:00", "2027-01-01T09:00:00+00:00"]
        );
    }

    #[test]
    fn day_names_fortnights_and_months_in_words() {
        assert_eq!(
            runs("every Monday at 09:00", "UTC", "2026-11-25T12:00:00Z", 1),
            ["2026-11-30T09:00:00+00:00"]
        );
        assert_eq!(
            runs(
                "every Tuesday and Thursday at 12:30",
                "UTC",
                "2026-11-25T12:00:00Z",
                3
            ),
            [
                "2026-11-26T12:30:00+00:00",
                "2026-12-01T12:30:00+00:00",
                "2026-12-03T12:30:00+00:00"
            ]
        );
        assert_eq!(
            runs("weekdays at 9am", "UTC", "2026-11-27T10:00:00Z", 1),
            ["2026-11-30T09:00:00+00:00"]
        );
        assert_eq!(
            runs(
                "every 2 weeks on Monday at 09:00 starting 2026-12-07",
                "UTC",
                "2026-11-25T12:00:00Z",
                3
            ),
            [
                "2026-12-07T09:00:00+00:00",
                "2026-12-21T09:00:00+00:00",
                "2027-01-04T09:00:00+00:00"
            ]
        );
        assert_eq!(
            runs(
                "monthly on the first Monday at 09:00",
                "UTC",
                "2026-11-25T12:00:00Z",
                2
            ),
            ["2026-12-07T09:00:00+00:00", "2027-01-04T09:00:00+00:00"]
        );
        assert_eq!(
            runs(
                "monthly on the last Friday at 16:00",
                "UTC",
                "2026-11-25T12:00:00Z",
                1
            ),
            ["2026-11-27T16:00:00+00:00"]
        );
        assert_eq!(
            runs(
                "monthly on day 1 at 09:00",
                "UTC",
                "2026-11-25T12:00:00Z",
                1
            ),
            runs("0 9 1 * *", "UTC", "2026-11-25T12:00:00Z", 1)
        );
    }

    #[test]
    fn a_leap_day_runs_and_question_marks_mean_any_day() {
        assert_eq!(
            runs("0 9 29 2 *", "UTC", "2026-11-25T12:00:00Z", 1),
            ["2028-02-29T09:00:00+00:00"]
        );
        // "?" in either day field is "any day", as in the cron crate's own syntax.
        assert_eq!(
            runs("0 9 ? * 1", "UTC", "2026-11-25T12:00:00Z", 2),
            runs("0 9 * * 1", "UTC", "2026-11-25T12:00:00Z", 2)
        );
        assert_eq!(
            runs("0 9 1 * ?", "UTC", "2026-11-25T12:00:00Z", 1),
            ["2026-12-01T09:00:00+00:00"]
        );
    }

    #[test]
    fn fortnights_without_a_start_date_agree_whenever_they_are_computed() {
        let s = Schedule::parse("every 2 weeks on Monday at 09:00").unwrap();
        let from_now = s.next_runs(chrono_tz::UTC, at("2026-11-25T12:00:00Z"), 4);
        let from_later = s.next_runs(chrono_tz::UTC, from_now[0], 3);
        assert_eq!(&from_now[1..], &from_later[..]);
        assert!(from_now
            .windows(2)
            .all(|w| w[1] - w[0] == Duration::days(14)));
        // Counted from Monday 1 January 2024: 2026-11-30 is 152 weeks on, an even number.
        assert_eq!(from_now[0], at("2026-11-30T09:00:00Z"));
    }

    #[test]
    fn london_clock_changes_in_march_and_october_2026() {
        // Clocks go forward at 01:00 UTC on Sunday 29 March 2026 and back at 01:00 UTC on
        // Sunday 25 October 2026.
        assert_eq!(
            runs("0 9 * * 1", "Europe/London", "2026-03-20T00:00:00Z", 2),
            ["2026-03-23T09:00:00+00:00", "2026-03-30T08:00:00+00:00"]
        );
        assert_eq!(
            runs(
                "every Monday at 09:00",
                "Europe/London",
                "2026-10-20T00:00:00Z",
                1
            ),
            ["2026-10-26T09:00:00+00:00"]
        );
        // 01:30 does not exist on 29 March: the run is at the first instant after the gap,
        // 02:00 BST (01:00 UTC).
        assert_eq!(
            runs("30 1 * * 0", "Europe/London", "2026-03-28T00:00:00Z", 2),
            ["2026-03-29T01:00:00+00:00", "2026-04-05T00:30:00+00:00"]
        );
        // 01:30 happens twice on 25 October: the earlier one (BST, 00:30 UTC), once.
        assert_eq!(
            runs(
                "every Sunday at 01:30",
                "Europe/London",
                "2026-10-24T00:00:00Z",
                2
            ),
            ["2026-10-25T00:30:00+00:00", "2026-11-01T01:30:00+00:00"]
        );
    }

    #[test]
    fn the_latest_run_is_found_and_only_after_the_start() {
        let s = Schedule::parse("0 9 * * 1").unwrap();
        let since = at("2026-11-01T00:00:00Z");
        // Three weeks of downtime: only the latest slot.
        assert_eq!(
            s.latest_run(chrono_tz::UTC, since, at("2026-11-25T12:00:00Z")),
            Some(at("2026-11-23T09:00:00Z"))
        );
        assert_eq!(
            s.latest_run(chrono_tz::UTC, since, at("2026-11-23T09:00:00Z")),
            Some(at("2026-11-23T09:00:00Z"))
        );
        assert_eq!(
            s.latest_run(
                chrono_tz::UTC,
                at("2026-11-23T09:00:00Z"),
                at("2026-11-25T12:00:00Z")
            ),
            None,
            "a slot at the moment the schedule was saved does not count"
        );
        let yearly = Schedule::parse("0 9 1 1 *").unwrap();
        assert_eq!(
            yearly.latest_run(
                chrono_tz::UTC,
                at("2020-06-01T00:00:00Z"),
                at("2026-11-25T00:00:00Z")
            ),
            Some(at("2026-01-01T09:00:00Z"))
        );
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        let err = |s: &str| Schedule::parse(s).unwrap_err();
        assert!(err("0 9 * *").contains("five fields"));
        assert!(err("0 0 9 * * 1").contains("five fields"));
        assert!(err("* 9 * * 1").contains("minute"));
        assert!(err("0 25 * * 1").contains("hour"));
        assert!(err("0 9 * * 9").contains("weekday"));
        assert!(err("0 9 1 * 1").contains("not both"));
        assert!(err("0 9 32 * *").contains("cannot be read"));
        assert!(err("0 9 30 2 *").contains("never runs"));
        assert!(err("0 9 31 4,6,9,11 *").contains("never runs"));
        assert!(err("every Funday at 09:00").contains("Funday".to_lowercase().as_str()));
        assert!(err("every Monday").contains("what time"));
        assert!(err("every Monday at 25:00").contains("time"));
        assert!(err("monthly on day 31 at 09:00").contains("1 to 28"));
        assert!(err("every Monday at 09:00 starting 2026-12-07").contains("start date"));
        assert!(err("whenever at 09:00").contains("not a schedule"));
        assert!(err("").contains("enter a schedule"));
    }

    #[test]
    fn schedules_describe_themselves() {
        let d = |s: &str| Schedule::parse(s).unwrap().to_string();
        assert_eq!(
            d("every tuesday, thursday at 12.30pm"),
            "every Tuesday and Thursday at 12:30"
        );
        assert_eq!(d("Weekdays at 9am"), "every weekday at 09:00");
        assert_eq!(
            d("fortnightly on fri at noon"),
            "every 2 weeks on Friday at 12:00"
        );
        assert_eq!(
            d("monthly on the first Monday at 09:00"),
            "monthly on the first Monday at 09:00"
        );
        assert_eq!(d("0  9 * * 1"), "cron \"0 9 * * 1\"");
        assert_eq!(
            d("every other Wednesday at 10:00"),
            "every 2 weeks on Wednesday at 10:00"
        );
        assert_eq!(
            local_label("Europe/London".parse().unwrap(), at("2026-12-07T09:00:00Z")),
            "Monday 7 December 2026, 09:00 (Europe/London)"
        );
    }
}
