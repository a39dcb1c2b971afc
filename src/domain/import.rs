//! Where an upload of people stands.

/// Where an uploaded file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportState {
    /// Uploaded and shown; nothing saved yet (or an interrupted import shown again).
    Previewed,
    Importing,
    Imported,
    Failed,
}

impl ImportState {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "previewed" => ImportState::Previewed,
            "importing" => ImportState::Importing,
            "imported" => ImportState::Imported,
            "failed" => ImportState::Failed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Previewed => "previewed",
            ImportState::Importing => "importing",
            ImportState::Imported => "imported",
            ImportState::Failed => "failed",
        }
    }
}

impl std::fmt::Display for ImportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
