/// The short name in a public address, such as `/t/{slug}`: lower-case letters, digits and
/// single hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

pub const MAX_SLUG_CHARS: usize = 64;

/// Words that are, or are likely to become, fixed segments where a slug sits: today
/// `/admin/trials/new`; a trial called `new` could never be opened in the console.
pub const RESERVED_SLUGS: &[&str] = &["new", "import", "export", "edit", "delete"];

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("enter a short name for the address".into());
        }
        if s.len() > MAX_SLUG_CHARS {
            return Err(format!("use at most {MAX_SLUG_CHARS} characters"));
        }
        let allowed = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !allowed || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(
                "use lower-case letters, digits and single hyphens, like study-day-2026".into(),
            );
        }
        if RESERVED_SLUGS.contains(&s) {
            return Err(format!(
                "\"{s}\" is a word the site's addresses use; choose another, like {s}-2026"
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Slug;

    #[test]
    fn slugs_are_plain_lower_case_words() {
        assert!(Slug::parse("nursing-rct-2026").is_ok());
        for bad in [
            "",
            "Upper",
            "two  words",
            "-lead",
            "trail-",
            "a--b",
            "é",
            "a/b",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Slug::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn words_the_routes_use_are_refused() {
        for reserved in ["new", "import", "edit"] {
            let message = Slug::parse(reserved).unwrap_err();
            assert!(message.contains("choose another"), "{message}");
        }
        assert!(Slug::parse("new-starters").is_ok());
    }
}
