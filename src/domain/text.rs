/// Free text from a form: trimmed, at most `max` characters, no control characters other
/// than line breaks where `multiline` allows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortText(String);

impl ShortText {
    pub fn parse(raw: &str, max: usize, multiline: bool) -> Result<Self, String> {
        let s = raw.trim();
        if s.chars().count() > max {
            return Err(format!("use at most {max} characters"));
        }
        let bad = s
            .chars()
            .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
        if bad {
            return Err("remove the control characters".into());
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
    fn multiline_text_keeps_line_breaks_only_when_allowed() {
        assert!(ShortText::parse("a\nb", 10, true).is_ok());
        assert!(ShortText::parse("a\nb", 10, false).is_err());
    }
}
