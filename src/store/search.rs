//! Case-insensitive search that answers the same on SQLite and PostgreSQL.
//!
//! SQL `LOWER` folds only ASCII on SQLite (and on PostgreSQL under the C locale), so
//! "émile" would not find "Émile" there. Names and addresses are therefore folded here, in
//! Rust, into `participants.search_key` whenever they are written, and a search folds its
//! query the same way and matches that column with `LIKE`, which then only has to compare
//! characters as they are.
use unicode_normalization::UnicodeNormalization;

/// Stands between the folded name and address in a search key, so that a query cannot match
/// across the two; [`like_pattern`] removes it from queries.
const SEPARATOR: char = '\u{1f}';

/// Lower case, with the few full case foldings people type (`ß` and `ẞ` as `ss`, a final `ς`
/// as `σ`), in composed form (NFC), so that "STRASSE" finds "Straße" and an `é` typed as `e`
/// plus an accent finds one typed as a single character.
pub fn fold(text: &str) -> String {
    let lower = text.to_lowercase().replace('ß', "ss").replace('ς', "σ");
    lower.as_str().nfc().collect()
}

/// What `participants.search_key` holds for a person.
pub fn search_key(name: &str, email: Option<&str>) -> String {
    format!(
        "{}{SEPARATOR}{}",
        fold(name),
        fold(email.unwrap_or_default())
    )
}

/// A `LIKE … ESCAPE '\'` pattern matching search keys that contain the folded query.
pub fn like_pattern(query: &str) -> String {
    let escaped = fold(query.trim())
        .replace(SEPARATOR, "")
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Like [`like_pattern`], matching the name part of a search key only (never the address).
pub fn name_like_pattern(query: &str) -> String {
    format!("{}{SEPARATOR}%", like_pattern(query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_maps_upper_and_lower_case_alike() {
        for (a, b) in [
            ("Émile", "émile"),
            ("ÅSA", "åsa"),
            ("Łukasz", "łukasz"),
            ("STRASSE", "straße"),
            ("Straẞe", "strasse"),
            ("ΟΔΥΣΣΕΥΣ", "οδυσσευς"),
            ("E\u{301}mile", "émile"),
        ] {
            assert_eq!(fold(a), fold(b), "{a} and {b}");
        }
        assert_ne!(fold("Emile"), fold("Émile"), "accents still count");
    }

    #[test]
    fn patterns_escape_like_wildcards_and_cannot_span_name_and_address() {
        assert_eq!(like_pattern("  50%_off\\ "), "%50\\%\\_off\\\\%");
        let key = search_key("Ann", Some("Bob@example.org"));
        assert_eq!(key, "ann\u{1f}bob@example.org");
        assert_eq!(like_pattern("ann\u{1f}bob"), "%annbob%");
        assert_eq!(search_key("Ann", None), "ann\u{1f}");
        assert_eq!(name_like_pattern("an"), "%an%\u{1f}%");
    }
}
