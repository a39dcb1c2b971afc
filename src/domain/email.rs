/// The symbols RFC 5322 allows in an unquoted local part, less those that mail servers and
/// people misread (`/`, `|`, `` ` ``, `{`, `}`, `?`, `=`, `!`, `#`, `$`, `%`, `&`, `*`, `^`, `~`,
/// `'`): enough for every real address we have seen.
const LOCAL_PART_SYMBOLS: &str = "._+-";

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
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err("this does not look like an email address, like name@example.org".into());
        }
        // Only what the mailer will send to: an address it cannot parse would get "check your
        // email" and then fail for ever. Plain ASCII, unquoted local parts only: quoted ones
        // and non-ASCII ones are valid in theory but many mail servers refuse them.
        let local_ok = local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_PART_SYMBOLS.contains(c));
        if !local_ok || s.parse::<lettre::Address>().is_err() {
            return Err(
                "we cannot send email to this address: use letters, digits and . _ + - before the @, like name@example.org"
                    .into(),
            );
        }
        Ok(Self(s))
    }

    /// The key for limits per mailbox: the address without a `+tag` in its local part, so that
    /// `ada+1@example.org` and `ada+2@example.org` count as one (it is already lower-case).
    pub fn limit_key(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').expect("checked at parse");
        let mailbox = local
            .split_once('+')
            .map_or(local, |(mailbox, _tag)| mailbox);
        format!("{mailbox}@{domain}")
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
            "a\u{0}@example.org",
            "a(b)c@example.org",
            "a:b@example.org",
            "\"a b\"@example.org",
            ".a@example.org",
            "a.@example.org",
            "a..b@example.org",
            "josé@example.org",
            "a@exämple.org",
            "a@-example.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn refused_addresses_say_why() {
        let message = Email::parse("a(b)c@example.org").unwrap_err();
        assert!(message.contains("cannot send"), "{message}");
    }

    #[test]
    fn every_accepted_address_is_one_the_mailer_takes() {
        for good in [
            "ada@example.org",
            "first.last+tag@sub.example.co.uk",
            "o_brien-2@example.org",
        ] {
            let email = Email::parse(good).unwrap();
            assert!(email.as_str().parse::<lettre::Address>().is_ok(), "{good}");
        }
    }

    #[test]
    fn case_and_tag_variants_share_a_limit_key() {
        let key = |s: &str| Email::parse(s).unwrap().limit_key();
        assert_eq!(key("Ada@Example.org"), "ada@example.org");
        assert_eq!(key("ADA+news@example.org"), "ada@example.org");
        assert_eq!(key("ada+a+b@example.org"), "ada@example.org");
        assert_ne!(key("ada@example.org"), key("ada.l@example.org"));
        assert_ne!(key("ada@example.org"), key("ada@example.com"));
    }
}
