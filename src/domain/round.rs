//! What a round is and where it stands.

/// How a round came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundKind {
    /// Started by an organiser in the console, the API or the CLI.
    Manual,
    /// Drawn up by the scheduler for a slot of the trial's schedule.
    Scheduled,
    /// A quick round in the room at an event (published at once, no feedback emails).
    Quick,
}

impl RoundKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(RoundKind::Manual),
            "scheduled" => Some(RoundKind::Scheduled),
            "quick" => Some(RoundKind::Quick),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RoundKind::Manual => "manual",
            RoundKind::Scheduled => "scheduled",
            RoundKind::Quick => "quick",
        }
    }

    /// Quick rounds at an event are not followed by feedback emails.
    pub fn asks_for_feedback(self) -> bool {
        self != RoundKind::Quick
    }
}

/// A round is a draft (nothing sent, groups may change) until it is published (final).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundState {
    Draft,
    Published,
}

impl RoundState {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(RoundState::Draft),
            "published" => Some(RoundState::Published),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RoundState::Draft => "draft",
            RoundState::Published => "published",
        }
    }
}

impl std::fmt::Display for RoundKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for RoundState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_read_back_what_they_write() {
        for k in [RoundKind::Manual, RoundKind::Scheduled, RoundKind::Quick] {
            assert_eq!(RoundKind::parse(k.as_str()), Some(k));
        }
        for s in [RoundState::Draft, RoundState::Published] {
            assert_eq!(RoundState::parse(s.as_str()), Some(s));
        }
        assert_eq!(RoundKind::parse("Quick"), None);
        assert_eq!(RoundState::parse(""), None);
        assert!(!RoundKind::Quick.asks_for_feedback());
        assert!(RoundKind::Scheduled.asks_for_feedback());
    }
}
