/// Characters that change how the text around them is shown without being visible
/// themselves: bidirectional overrides and isolates, direction marks and zero-width
/// characters. In a name that reaches an email subject they can disguise what a partner reads
/// ("meet Eve" followed by a reversed file name), so free text refuses them.
pub fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
    )
}

/// The first reason `s` cannot be stored as free text, if any. Control characters (NUL
/// above all: PostgreSQL text cannot hold it) and invisible formatting characters are refused;
/// line breaks and tabs only where `multiline` allows them. U+FFFD is what a decoder leaves
/// where the bytes were not valid UTF-8, so it means the text was damaged on the way.
pub fn unprintable(s: &str, multiline: bool) -> Option<&'static str> {
    for c in s.chars() {
        if c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')) {
            return Some("remove the control characters");
        }
        if is_invisible_formatting(c) {
            return Some(
                "remove the invisible formatting characters (such as direction marks or zero-width spaces)",
            );
        }
        if c == '\u{FFFD}' {
            return Some(
                "this text was damaged on the way (it was not valid UTF-8); type it again",
            );
        }
    }
    None
}

/// Free text from a form: trimmed, at most `max` characters, no control characters other
/// than line breaks where `multiline` allows them, no invisible formatting characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortText(String);

impl ShortText {
    pub fn parse(raw: &str, max: usize, multiline: bool) -> Result<Self, String> {
        let s = raw.trim();
        if s.chars().count() > max {
            return Err(format!("use at most {max} characters"));
        }
        if let Some(reason) = unprintable(s, multiline) {
            return Err(reason.into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A person's name as they want it shown: required, at most 100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = ShortText::parse(raw, 100, false)?;
        if s.as_str().is_empty() {
            return Err("enter a name".into());
        }
        // Punctuation, digits or symbols alone do not tell a partner whom to look for.
        if !s.as_str().chars().any(char::is_alphabetic) {
            return Err("a name needs at least one letter".into());
        }
        Ok(Self(s.into_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_required_bounded_and_printable() {
        assert_eq!(
            PersonName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse("Ada\u{0}").is_err());
        assert!(
            PersonName::parse("<script>alert(1)</script>").is_ok(),
            "escaping is the template's job"
        );
    }

    #[test]
    fn names_need_a_visible_letter() {
        for bad in ["...", "1234", "\u{200B}", "-- --", "\u{202E}\u{202E}"] {
            assert!(PersonName::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(PersonName::parse("李雷").is_ok());
        assert!(PersonName::parse("Zoë O'Brien-Smith 3rd").is_ok());
    }

    #[test]
    fn invisible_formatting_is_refused_everywhere() {
        for bad in [
            "Eve\u{202E}gnp.exe",
            "Eve\u{2066}x\u{2069}",
            "A\u{200E}da",
            "A\u{200F}da",
            "A\u{200B}da",
            "A\u{200D}da",
            "A\u{2060}da",
            "\u{FEFF}Ada",
            "Ada\u{FFFD}\u{FFFD}",
        ] {
            assert!(PersonName::parse(bad).is_err(), "{bad:?} in a name");
            assert!(ShortText::parse(bad, 280, true).is_err(), "{bad:?} in text");
        }
        let message = PersonName::parse("Eve\u{202E}gnp.exe").unwrap_err();
        assert!(message.contains("invisible"), "{message}");
    }

    #[test]
    fn nul_is_refused_even_in_multiline_text() {
        assert!(ShortText::parse("a\u{0}b", 100, true).is_err());
        assert!(ShortText::parse("a\tb\r\nc", 100, true).is_ok());
    }

    #[test]
    fn multiline_text_keeps_line_breaks_only_when_allowed() {
        assert!(ShortText::parse("a\nb", 10, true).is_ok());
        assert!(ShortText::parse("a\nb", 10, false).is_err());
    }
}
