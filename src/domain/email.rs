/// An email address, trimmed and lower-cased so that one person is one address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("enter an email address".into());
        }
        if s.chars().count() > 254 {
            return Err("this email address is too long".into());
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("an email address cannot contain spaces or control characters".into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("an email address needs an @, like name@example.org".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty()
            || local.contains('@')
            || !domain_ok
            || local.contains(['<', '>', '"', ',', ';'])
        {
            return Err("this does not look like an email address, like name@example.org".into());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_and_normalises_addresses() {
        assert_eq!(
            Email::parse("  Ada@Example.ORG ").unwrap().as_str(),
            "ada@example.org"
        );
        assert!(Email::parse("first.last+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.org",
            "a@.org",
            "a b@example.org",
            "a@exa mple.org",
            "a@b..org",
            "<a>@example.org",
            "a@exam\nple.org",
            "a\u{7}@example.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
