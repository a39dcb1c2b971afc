//! Reading typed values out of rows: flags are 0/1 integers, timestamps fixed-width UTC text
//! (see [`super::time`]) and kinds and states short words, on both backends. A value this
//! code never writes is a decode error naming the column, not a silent default.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

fn bad(column: &str, what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("{value:?} is not {what}").into(),
    }
}

/// A 0/1 flag.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    match row.try_get::<i64, _>(column)? {
        0 => Ok(false),
        1 => Ok(true),
        n => Err(bad(column, "a 0/1 flag", &n.to_string())),
    }
}

/// A timestamp written by `time::to_db`.
pub(crate) fn time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    let text: String = row.try_get(column)?;
    super::time::from_db(&text).ok_or_else(|| bad(column, "a timestamp", &text))
}

/// A timestamp that may be NULL.
pub(crate) fn optional_time(
    row: &AnyRow,
    column: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| super::time::from_db(&t).ok_or_else(|| bad(column, "a timestamp", &t)))
        .transpose()
}

/// A word read by `parse` (a kind or a state).
pub(crate) fn word<T>(
    row: &AnyRow,
    column: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    stored(column, &text, parse)
}

/// A word already read from `column` (by a query that returns a tuple).
pub(crate) fn stored<T>(
    column: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    parse(text).ok_or_else(|| bad(column, "a known value", text))
}

/// A timestamp already read from `column`.
pub(crate) fn stored_time(column: &str, text: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    super::time::from_db(text).ok_or_else(|| bad(column, "a timestamp", text))
}

/// Serialisers for rows that are also written out whole (exports, a person's own data), so
/// typed fields keep the shape those files have always had: timestamps as the database text,
/// flags as 0/1 and words as stored.
pub(crate) mod as_stored {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub(crate) fn time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::store::time::to_db(*t))
    }

    pub(crate) fn flag<S: Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(i64::from(*b))
    }

    pub(crate) fn word<S: Serializer, T: std::fmt::Display>(
        w: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_str(w)
    }
}
