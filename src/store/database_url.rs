//! Which database, from the URL the operator gave: the scheme decides the backend.
use url::Url;

/// The database the service keeps its state in; the URL scheme decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL whose scheme has been checked. `Display` hides any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let scheme = raw
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let backend = match scheme.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "" => return Err("is empty".to_string()),
            other => {
                return Err(format!(
                    "unknown scheme '{other}:' (use sqlite: or postgres:)"
                ))
            }
        };
        let url = match backend {
            // Create the file on first start unless the operator chose another mode.
            Backend::Sqlite if !raw.contains("mode=") => {
                let sep = if raw.contains('?') { '&' } else { '?' };
                format!("{raw}{sep}mode=rwc")
            }
            Backend::Sqlite => raw.to_string(),
            Backend::Postgres => {
                Url::parse(raw).map_err(|e| format!("is not a valid URL: {e}"))?;
                raw.to_string()
            }
        };
        Ok(Self { url, backend })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The full URL, password included: only for connecting, never for logs.
    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match Url::parse(&self.url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("********"));
                write!(f, "{u}")
            }
            _ => f.write_str(&self.url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:x.db").unwrap().backend(),
            &Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://h/db").unwrap().backend(),
            &Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap().backend(),
            &Backend::Postgres
        );
        let e = DatabaseUrl::parse("mysql://h/db").unwrap_err();
        assert!(e.contains("mysql"));
    }

    #[test]
    fn sqlite_files_are_created_unless_a_mode_is_given() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:a.db").unwrap().expose(),
            "sqlite:a.db?mode=rwc"
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:a.db?mode=ro").unwrap().expose(),
            "sqlite:a.db?mode=ro"
        );
    }

    #[test]
    fn passwords_never_show_in_display() {
        let u = DatabaseUrl::parse("postgres://u:secret@h:5432/db").unwrap();
        assert!(!u.to_string().contains("secret"));
        assert!(!format!("{u:?}").contains("secret"));
    }
}
