//! Random tokens for links, sessions and forms: URL-safe, from the operating system's
//! generator, and stored only as a SHA-256 hash.
//!
//! Session, API and form tokens are 256 random bits in 64 hex digits. The tokens of links in
//! emails ([`new_link_token`]) have the same length but begin with the moment they were made,
//! and the database keeps that beginning in front of the hash. The unique index over the
//! stored hashes then grows at its end: a batch of sign-ups, three links each, adds its entries
//! to one page instead of to one random page each, which was a third of what SQLite wrote to
//! its log per sign-up.
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// The first character of a link token, where the older, all-random tokens have a hex digit.
const LINK_MARK: u8 = b'z';
/// Hex digits of the milliseconds since 1970 (enough until the year 2527).
const TIME_DIGITS: usize = 11;
/// The mark and the millisecond the link was made.
const LINK_PREFIX_LEN: usize = 1 + TIME_DIGITS;

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random generator works");
    hex(&bytes)
}

/// A token for a link in an email: the mark, the time, then 208 random bits (52 hex digits).
/// The time is no secret, since the email's own date tells it; the random part guards the link.
pub fn new_link_token(now: DateTime<Utc>) -> String {
    let mut token = String::with_capacity(64);
    token.push(LINK_MARK as char);
    token.push_str(&millis_hex(now));
    token.push_str(&new_token()[..64 - LINK_PREFIX_LEN]);
    token
}

/// 32 hex digits that sort by `now`: the millisecond, then 84 random bits. For identifiers
/// that are unique but need not be secret (Message-IDs), for the same reason as the link tokens.
pub fn time_ordered_id(now: DateTime<Utc>) -> String {
    let mut id = millis_hex(now);
    id.push_str(&new_token()[..32 - TIME_DIGITS]);
    id
}

/// What the database keeps instead of the token itself: the SHA-256 hash, behind the
/// (public) time prefix of a link token.
pub fn hash_token(token: &str) -> String {
    let hash = hex(&Sha256::digest(token.as_bytes()));
    match token.get(..LINK_PREFIX_LEN) {
        Some(prefix) if token.len() == 64 && prefix.as_bytes()[0] == LINK_MARK => {
            format!("{prefix}{hash}")
        }
        _ => hash,
    }
}

/// 64 hex digits, or a link token: the mark, then 63 hex digits.
pub fn looks_like_token(s: &str) -> bool {
    let digits = s.strip_prefix(LINK_MARK as char).unwrap_or(s);
    s.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares without stopping at the first difference, so timing reveals nothing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The milliseconds since 1970 in [`TIME_DIGITS`] hex digits (0 before 1970, the largest
/// after 2527).
fn millis_hex(now: DateTime<Utc>) -> String {
    let millis = now.timestamp_millis().clamp(0, 0xfff_ffff_ffff);
    format!("{millis:0width$x}", width = TIME_DIGITS)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(looks_like_token(&a));
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), a);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
    }

    #[test]
    fn link_tokens_keep_their_time_in_front_of_their_hash_and_sort_by_it() {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).unwrap();
        let a = new_link_token(at(1_764_550_000_000));
        let b = new_link_token(at(1_764_550_000_001));
        let c = new_link_token(at(1_764_550_000_001));
        for t in [&a, &b, &c] {
            assert_eq!(t.len(), 64);
            assert!(looks_like_token(t), "{t}");
        }
        assert_eq!(&a[..12], "z19ad7603d80");
        // Same millisecond, still different tokens and hashes.
        assert_ne!(b, c);
        assert_ne!(hash_token(&b), hash_token(&c));
        // What is stored: the prefix, then the hash of the whole token.
        let stored = hash_token(&a);
        assert_eq!(stored.len(), 76);
        assert_eq!(&stored[..12], &a[..12]);
        assert_eq!(&stored[12..], hex(&Sha256::digest(a.as_bytes())));
        assert!(hash_token(&a) < hash_token(&b) && hash_token(&a) < hash_token(&c));
        // A token of the older kind is hashed as before.
        let old = new_token();
        assert_eq!(hash_token(&old), hex(&Sha256::digest(old.as_bytes())));
    }

    #[test]
    fn anything_typed_hashes_without_a_panic() {
        // 64 bytes, with the 12th in the middle of a character.
        let odd = format!("z{}0", "é".repeat(31));
        assert_eq!(odd.len(), 64);
        for typed in [
            "",
            "z",
            "zzz",
            odd.as_str(),
            &format!("z{}", "0".repeat(70)),
        ] {
            assert_eq!(hash_token(typed), hex(&Sha256::digest(typed.as_bytes())));
        }
    }

    #[test]
    fn only_tokens_of_either_kind_look_like_tokens() {
        assert!(looks_like_token(&"a".repeat(64)));
        assert!(looks_like_token(&format!("z{}", "0".repeat(63))));
        for bad in [
            "a".repeat(63),
            "a".repeat(65),
            format!("z{}", "0".repeat(64)),
            format!("zz{}", "0".repeat(62)),
            format!("g{}", "0".repeat(63)),
            format!("{}z", "0".repeat(63)),
        ] {
            assert!(!looks_like_token(&bad), "{bad}");
        }
    }

    #[test]
    fn time_ordered_ids_sort_by_their_time() {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).unwrap();
        let a = time_ordered_id(at(1_764_550_000_000));
        let b = time_ordered_id(at(1_764_550_000_001));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(a < b);
        assert_eq!(&a[..11], "19ad7603d80");
    }

    #[test]
    fn times_outside_eleven_hex_digits_are_held_at_the_ends() {
        let before_1970 = Utc.timestamp_millis_opt(-5).unwrap();
        let year_3000 = Utc.with_ymd_and_hms(3000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(&new_link_token(before_1970)[..12], "z00000000000");
        assert_eq!(&new_link_token(year_3000)[..12], "zfffffffffff");
        assert_eq!(new_link_token(year_3000).len(), 64);
    }
}
