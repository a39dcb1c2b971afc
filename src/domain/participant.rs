use super::trial::{check, FieldError};
use super::{Email, PersonName, ShortText};

/// How someone can meet their partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeetingMode {
    InPerson,
    Video,
    Phone,
}

impl MeetingMode {
    pub const ALL: [MeetingMode; 3] = [
        MeetingMode::InPerson,
        MeetingMode::Video,
        MeetingMode::Phone,
    ];

    pub fn parse(s: &str) -> Result<Self, String> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_")
            .as_str()
        {
            "in_person" => Ok(MeetingMode::InPerson),
            "video" => Ok(MeetingMode::Video),
            "phone" => Ok(MeetingMode::Phone),
            other => Err(format!("'{other}' is not one of: in_person, video, phone")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingMode::InPerson => "in_person",
            MeetingMode::Video => "video",
            MeetingMode::Phone => "phone",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MeetingMode::InPerson => "in person",
            MeetingMode::Video => "by video",
            MeetingMode::Phone => "by phone",
        }
    }

    /// Parses the stored comma-separated form (or a form's list); unknown entries are errors.
    pub fn parse_list(items: &[String]) -> Result<Vec<MeetingMode>, String> {
        let mut modes = Vec::new();
        for item in items
            .iter()
            .flat_map(|i| i.split(','))
            .filter(|i| !i.trim().is_empty())
        {
            let m = MeetingMode::parse(item)?;
            if !modes.contains(&m) {
                modes.push(m);
            }
        }
        Ok(modes)
    }

    pub fn join(modes: &[MeetingMode]) -> String {
        modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub const MAX_INTRODUCTION_CHARS: usize = 280;

/// What a sign-up form, an import row or the API supplies about a person in a trial.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ParticipantInput {
    pub name: String,
    pub email: String,
    /// The value of the trial's grouping attribute (e.g. their department).
    pub attribute_value: String,
    pub role: String,
    pub site: String,
    pub team: String,
    pub meeting_modes: Vec<String>,
    pub introduction: String,
}

/// The same, checked against the trial's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantDetails {
    pub name: PersonName,
    pub email: Email,
    pub attribute_value: String,
    pub role: String,
    pub site: String,
    pub team: String,
    pub meeting_modes: Vec<MeetingMode>,
    pub introduction: String,
}

impl ParticipantDetails {
    /// `allowed_values` is the trial's list for its grouping attribute (empty: free text).
    pub fn parse(
        input: &ParticipantInput,
        allowed_values: &[&str],
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = check(&mut errors, "name", PersonName::parse(&input.name));
        let email = check(&mut errors, "email", Email::parse(&input.email));
        let attribute_value = check(
            &mut errors,
            "attribute_value",
            ShortText::parse(&input.attribute_value, 60, false).and_then(|v| {
                if allowed_values.is_empty() {
                    return Ok(v.into_string());
                }
                allowed_values
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(v.as_str()))
                    .map(|a| a.to_string())
                    .ok_or_else(|| format!("choose one of: {}", allowed_values.join(", ")))
            }),
        );
        let role = check(
            &mut errors,
            "role",
            ShortText::parse(&input.role, 80, false),
        );
        let site = check(
            &mut errors,
            "site",
            ShortText::parse(&input.site, 80, false),
        );
        let team = check(
            &mut errors,
            "team",
            ShortText::parse(&input.team, 80, false),
        );
        let meeting_modes = check(
            &mut errors,
            "meeting_modes",
            MeetingMode::parse_list(&input.meeting_modes),
        );
        let introduction = check(
            &mut errors,
            "introduction",
            ShortText::parse(&input.introduction, MAX_INTRODUCTION_CHARS, true),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ParticipantDetails {
            name: name.expect("checked"),
            email: email.expect("checked"),
            attribute_value: attribute_value.unwrap_or_default(),
            role: role.map(ShortText::into_string).unwrap_or_default(),
            site: site.map(ShortText::into_string).unwrap_or_default(),
            team: team.map(ShortText::into_string).unwrap_or_default(),
            meeting_modes: meeting_modes.unwrap_or_default(),
            introduction: introduction.map(ShortText::into_string).unwrap_or_default(),
        })
    }
}

/// Where a person stands in a trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipState {
    /// Signed up, email address not yet confirmed.
    Pending,
    Active,
    Paused,
    Left,
    /// Personal data removed; the row stays so that history and statistics stay right.
    Erased,
}

impl MembershipState {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => MembershipState::Pending,
            "active" => MembershipState::Active,
            "paused" => MembershipState::Paused,
            "left" => MembershipState::Left,
            "erased" => MembershipState::Erased,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MembershipState::Pending => "pending",
            MembershipState::Active => "active",
            MembershipState::Paused => "paused",
            MembershipState::Left => "left",
            MembershipState::Erased => "erased",
        }
    }
}

impl std::fmt::Display for MembershipState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ParticipantInput {
        ParticipantInput {
            name: "Grace Hopper".into(),
            email: "Grace@Example.org".into(),
            attribute_value: "nursing".into(),
            meeting_modes: vec!["video".into(), "in_person,phone".into()],
            introduction: "Ask me about compilers.\nAnd coffee.".into(),
            ..Default::default()
        }
    }

    #[test]
    fn details_follow_the_trial_rules() {
        let d = ParticipantDetails::parse(&input(), &["Nursing", "Estates"]).unwrap();
        assert_eq!(
            d.attribute_value, "Nursing",
            "the organiser's spelling wins"
        );
        assert_eq!(d.email.as_str(), "grace@example.org");
        assert_eq!(
            d.meeting_modes,
            vec![
                MeetingMode::Video,
                MeetingMode::InPerson,
                MeetingMode::Phone
            ]
        );
        assert_eq!(MeetingMode::join(&d.meeting_modes), "video,in_person,phone");
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = ParticipantInput {
            name: "".into(),
            email: "nope".into(),
            attribute_value: "Catering".into(),
            meeting_modes: vec!["carrier pigeon".into()],
            introduction: "x".repeat(281),
            ..Default::default()
        };
        let errors = ParticipantDetails::parse(&bad, &["Nursing"]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "email",
                "attribute_value",
                "meeting_modes",
                "introduction"
            ]
        );
    }
}
