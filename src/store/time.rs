//! Timestamps are stored as fixed-width UTC text, so they sort and compare correctly as
//! strings on both backends.
use chrono::{DateTime, SecondsFormat, Utc};

pub fn to_db(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn from_db(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_as_text() {
        let a = DateTime::parse_from_rfc3339("2026-03-29T00:59:59.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = a + chrono::Duration::seconds(1);
        assert_eq!(from_db(&to_db(a)), Some(a));
        assert!(to_db(a) < to_db(b));
        assert_eq!(to_db(a).len(), to_db(b).len());
    }
}
