//! Passwords: argon2id with the crate's recommended parameters.
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 128;

const COMMON: &str = include_str!("common_passwords.txt");

/// Refuses short, over-long and well-known passwords with a reason to show at the field.
pub fn check_strength(password: &str, email: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!("use at least {MIN_CHARS} characters"));
    }
    if n > MAX_CHARS {
        return Err(format!("use at most {MAX_CHARS} characters"));
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|p| p == lower) || lower == email.to_lowercase() {
        return Err("this password is too common; choose another".into());
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("this password is too easy to guess; choose another".into());
    }
    Ok(())
}

pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that a wrong address
/// takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password that matches nothing").expect("hashing works"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_rules() {
        assert!(check_strength("short", "a@b.org").is_err());
        assert!(check_strength("password123", "a@b.org").is_err());
        assert!(check_strength("aaaaaaaaaaaa", "a@b.org").is_err());
        assert!(check_strength("correct horse battery", "a@b.org").is_ok());
    }

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
    }
}
