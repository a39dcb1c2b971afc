//! Answers to "did you meet?" and what a group's answers together say.

/// An answer to "did you meet?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Met,
    SomeMet,
    NotYet,
    CouldNotMeet,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Met,
        Outcome::SomeMet,
        Outcome::NotYet,
        Outcome::CouldNotMeet,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::SomeMet => "some_met",
            Outcome::NotYet => "not_yet",
            Outcome::CouldNotMeet => "could_not_meet",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Met => "We met",
            Outcome::SomeMet => "Some of us met",
            Outcome::NotYet => "Not yet",
            Outcome::CouldNotMeet => "We couldn't meet",
        }
    }

    /// "Some of us met" only makes sense for a group of three.
    pub fn offered(group_size: i64) -> Vec<Outcome> {
        Outcome::ALL
            .into_iter()
            .filter(|o| *o != Outcome::SomeMet || group_size > 2)
            .collect()
    }

    /// True for the answers that say a meeting happened.
    pub fn is_meeting(self) -> bool {
        matches!(self, Outcome::Met | Outcome::SomeMet)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the answers of a group's members say about its meeting, taken together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupMeeting {
    /// At least one member said "we met" or "some of us met".
    Met,
    /// Nobody said they met, and at least one said "we couldn't meet".
    CouldNotMeet,
    /// Nobody said they met or could not: only "not yet".
    NotYet,
    /// Nobody answered, which is not the same as not having met.
    Unknown,
}

impl GroupMeeting {
    /// The one rule for "the group met", used by the dashboard and by the pairing history.
    pub fn from_answers(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let mut seen = GroupMeeting::Unknown;
        for o in outcomes {
            seen = match (seen, o) {
                (_, Outcome::Met | Outcome::SomeMet) => return GroupMeeting::Met,
                (_, Outcome::CouldNotMeet) => GroupMeeting::CouldNotMeet,
                (GroupMeeting::Unknown, Outcome::NotYet) => GroupMeeting::NotYet,
                (kept, Outcome::NotYet) => kept,
            };
        }
        seen
    }

    pub fn met(self) -> bool {
        self == GroupMeeting::Met
    }

    /// Someone answered at all.
    pub fn answered(self) -> bool {
        self != GroupMeeting::Unknown
    }

    /// For the pairing engine's history: only a group that reported it could not meet (and
    /// where nobody met) counts as not having met, so its members may be paired again.
    pub fn counts_as_met_for_pairing(self) -> bool {
        self != GroupMeeting::CouldNotMeet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_and_some_met_is_for_groups_of_three() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("maybe"), None);
        assert!(!Outcome::offered(2).contains(&Outcome::SomeMet));
        assert_eq!(Outcome::offered(2).len(), 3);
        assert_eq!(Outcome::offered(3).len(), 4);
    }

    #[test]
    fn one_meeting_answer_makes_the_group_met() {
        use GroupMeeting as G;
        use Outcome::*;
        let cases: [(&[Outcome], GroupMeeting); 8] = [
            (&[], G::Unknown),
            (&[NotYet], G::NotYet),
            (&[CouldNotMeet], G::CouldNotMeet),
            (&[NotYet, CouldNotMeet], G::CouldNotMeet),
            (&[CouldNotMeet, NotYet], G::CouldNotMeet),
            (&[CouldNotMeet, SomeMet], G::Met),
            (&[Met, CouldNotMeet], G::Met),
            (&[NotYet, Met], G::Met),
        ];
        for (answers, expected) in cases {
            assert_eq!(
                GroupMeeting::from_answers(answers.iter().copied()),
                expected,
                "{answers:?}"
            );
        }
        assert!(G::NotYet.answered() && !G::NotYet.met());
        assert!(G::NotYet.counts_as_met_for_pairing());
        assert!(G::Unknown.counts_as_met_for_pairing());
        assert!(!G::CouldNotMeet.counts_as_met_for_pairing());
    }
}
