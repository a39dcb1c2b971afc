//! Dates and times on console pages as people read them ("Sun 29 Nov 2026, 16:38 GMT"), in
//! the trial's time zone; pages that belong to no trial (outbox, organisers, tokens) use UTC
//! and say so. One helper, so that every page writes a moment the same way.
//!
//! Templates use the filters: `{{ round.published_at|when(trial.tz()) }}`,
//! `{{ stamp|utc }}`, `{{ member.paused_until|day }}`. A module whose templates use them
//! imports `crate::web::dates::filters`.
use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// Something that names a moment: a typed time, or one as the store still hands it out (RFC
/// 3339 text). Text that is not a time is shown as it is rather than hidden.
pub trait Moment {
    fn instant(&self) -> Result<DateTime<Utc>, &str>;
}

impl Moment for DateTime<Utc> {
    fn instant(&self) -> Result<DateTime<Utc>, &str> {
        Ok(*self)
    }
}

impl Moment for str {
    fn instant(&self) -> Result<DateTime<Utc>, &str> {
        DateTime::parse_from_rfc3339(self)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| self)
    }
}

impl Moment for String {
    fn instant(&self) -> Result<DateTime<Utc>, &str> {
        self.as_str().instant()
    }
}

impl<T: Moment + ?Sized> Moment for &T {
    fn instant(&self) -> Result<DateTime<Utc>, &str> {
        (**self).instant()
    }
}

/// "Sun 29 Nov 2026, 16:38 GMT": the moment in `zone`, with the zone's abbreviation (or its
/// offset, for zones that have none, such as "+04").
pub fn when(t: &(impl Moment + ?Sized), zone: Tz) -> String {
    match t.instant() {
        Ok(t) => t
            .with_timezone(&zone)
            .format("%a %-d %b %Y, %H:%M %Z")
            .to_string(),
        Err(raw) => raw.to_string(),
    }
}

/// "Tue 1 Dec 2026": the calendar day of a date stored as its midnight UTC (a pause's end).
/// Not moved into a zone: west of Greenwich that would show the day before.
pub fn day(t: &(impl Moment + ?Sized)) -> String {
    match t.instant() {
        Ok(t) => t.format("%a %-d %b %Y").to_string(),
        Err(raw) => raw.to_string(),
    }
}

/// The last whole day before a moment stored as the following midnight UTC ("works until the
/// end of" a token's last day).
pub fn last_day(t: &(impl Moment + ?Sized)) -> String {
    match t.instant() {
        Ok(t) => day(&(t - Duration::microseconds(1))),
        Err(raw) => raw.to_string(),
    }
}

/// The zone names the trial form suggests: the IANA "Area/Location" names and UTC, without the
/// old aliases kept for compatibility (US/Eastern, Etc/GMT+5 ...), which are still accepted.
pub fn zone_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        const ALIASES: [&str; 7] = [
            "Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Chile/", "Mexico/",
        ];
        let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|z| z.name())
            .filter(|n| {
                *n == "UTC" || (n.contains('/') && !ALIASES.iter().any(|a| n.starts_with(a)))
            })
            .collect();
        names.sort_unstable();
        names
    });
    &NAMES
}

/// A zone passed by value or by reference (askama passes a call's result by value and a
/// field by reference).
pub trait Zone {
    fn zone(&self) -> Tz;
}

impl Zone for Tz {
    fn zone(&self) -> Tz {
        *self
    }
}

impl<T: Zone + ?Sized> Zone for &T {
    fn zone(&self) -> Tz {
        (**self).zone()
    }
}

/// The askama filters over the functions above.
pub mod filters {
    use super::{Moment, Zone};

    pub fn when<T: Moment + ?Sized>(
        t: &T,
        _: &dyn askama::Values,
        zone: impl Zone,
    ) -> askama::Result<String> {
        Ok(super::when(t, zone.zone()))
    }

    pub fn utc<T: Moment + ?Sized>(t: &T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::when(t, chrono_tz::UTC))
    }

    pub fn day<T: Moment + ?Sized>(t: &T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::day(t))
    }

    pub fn last_day<T: Moment + ?Sized>(t: &T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::last_day(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.instant().unwrap()
    }

    #[test]
    fn moments_read_as_people_read_them_in_the_zone() {
        let t = at("2026-11-29T16:38:25.404457Z");
        assert_eq!(
            when(&t, chrono_tz::Europe::London),
            "Sun 29 Nov 2026, 16:38 GMT"
        );
        assert_eq!(
            when(&t, chrono_tz::Europe::Paris),
            "Sun 29 Nov 2026, 17:38 CET"
        );
        assert_eq!(when(&t, chrono_tz::UTC), "Sun 29 Nov 2026, 16:38 UTC");
        // Summer time, and a day that changes with the zone.
        let summer = at("2026-07-01T23:30:00.000000Z");
        assert_eq!(
            when(&summer, chrono_tz::Europe::London),
            "Thu 2 Jul 2026, 00:30 BST"
        );
        assert_eq!(
            when(&summer, chrono_tz::America::New_York),
            "Wed 1 Jul 2026, 19:30 EDT"
        );
        // Stored text reads the same as a typed time.
        assert_eq!(
            when("2026-11-29T16:38:25.404457Z", chrono_tz::Europe::London),
            "Sun 29 Nov 2026, 16:38 GMT"
        );
        assert_eq!(when("not a time", chrono_tz::UTC), "not a time");
    }

    #[test]
    fn days_stay_the_calendar_day_stored() {
        let midnight = at("2026-12-01T00:00:00.000000Z");
        assert_eq!(day(&midnight), "Tue 1 Dec 2026");
        assert_eq!(last_day(&midnight), "Mon 30 Nov 2026");
    }

    #[test]
    fn the_suggested_zones_are_names_the_form_accepts() {
        let names = zone_names();
        assert!(names.contains(&"Europe/London") && names.contains(&"UTC"));
        assert!(names.contains(&"America/Argentina/Buenos_Aires"));
        assert!(!names.contains(&"US/Eastern"));
        assert!(names.len() > 300, "{}", names.len());
        for n in names {
            assert!(n.parse::<Tz>().is_ok(), "{n}");
        }
    }
}
