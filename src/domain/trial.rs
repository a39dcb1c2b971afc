use super::{ShortText, Slug};

/// A problem with one field of a form or JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Collects field errors so a form can show all of them at once.
pub fn check<T>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    result: Result<T, String>,
) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(message) => {
            errors.push(FieldError { field, message });
            None
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialKind {
    /// Rounds every week or month across an organisation.
    Programme,
    /// Quick rounds in one room on one day.
    Event,
}

impl TrialKind {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "" | "programme" => Ok(TrialKind::Programme),
            "event" => Ok(TrialKind::Event),
            _ => Err("choose a recurring programme or an event".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrialKind::Programme => "programme",
            TrialKind::Event => "event",
        }
    }
}

/// The raw values of the trial form or API body.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct TrialInput {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub kind: String,
    pub attribute_name: String,
    /// One allowed value per line (or comma-separated); empty means free text.
    pub attribute_values: String,
    pub group_size: String,
    pub open_for_signup: bool,
}

/// New trials are open for sign-up unless the organiser says otherwise.
impl Default for TrialInput {
    fn default() -> Self {
        Self {
            name: String::new(),
            slug: String::new(),
            description: String::new(),
            kind: String::new(),
            attribute_name: String::new(),
            attribute_values: String::new(),
            group_size: String::new(),
            open_for_signup: true,
        }
    }
}

/// A trial's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialSettings {
    pub name: String,
    pub slug: Slug,
    pub description: String,
    pub kind: TrialKind,
    pub attribute_name: String,
    pub attribute_values: Vec<String>,
    pub group_size: i64,
    pub open_for_signup: bool,
}

pub const MAX_ATTRIBUTE_VALUES: usize = 200;

impl TryFrom<&TrialInput> for TrialSettings {
    type Error = Vec<FieldError>;

    fn try_from(input: &TrialInput) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let name = check(
            &mut errors,
            "name",
            ShortText::parse(&input.name, 100, false).and_then(|n| {
                if n.as_str().is_empty() {
                    Err("enter a name for the trial".to_string())
                } else {
                    Ok(n.into_string())
                }
            }),
        );
        let slug = check(&mut errors, "slug", Slug::parse(&input.slug));
        let description = check(
            &mut errors,
            "description",
            ShortText::parse(&input.description, 2000, true),
        );
        let kind = check(&mut errors, "kind", TrialKind::parse(&input.kind));
        let attribute_name = check(
            &mut errors,
            "attribute_name",
            ShortText::parse(&input.attribute_name, 50, false).map(|t| {
                if t.as_str().is_empty() {
                    "Department".to_string()
                } else {
                    t.into_string()
                }
            }),
        );
        let attribute_values = check(
            &mut errors,
            "attribute_values",
            parse_values(&input.attribute_values),
        );
        let group_size = check(
            &mut errors,
            "group_size",
            match input.group_size.trim() {
                "" | "2" => Ok(2),
                "3" => Ok(3),
                _ => Err("choose pairs (2) or groups of three (3)".to_string()),
            },
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TrialSettings {
            name: name.unwrap_or_default(),
            slug: slug.expect("checked"),
            description: description.map(ShortText::into_string).unwrap_or_default(),
            kind: kind.unwrap_or(TrialKind::Programme),
            attribute_name: attribute_name.unwrap_or_default(),
            attribute_values: attribute_values.unwrap_or_default(),
            group_size: group_size.unwrap_or(2),
            open_for_signup: input.open_for_signup,
        })
    }
}

fn parse_values(raw: &str) -> Result<Vec<String>, String> {
    let mut values: Vec<String> = Vec::new();
    for part in raw.split(['\n', ',']) {
        let v = ShortText::parse(part, 60, false).map_err(|e| format!("each value: {e}"))?;
        if !v.as_str().is_empty() && !values.iter().any(|x| x.eq_ignore_ascii_case(v.as_str())) {
            values.push(v.into_string());
        }
    }
    if values.len() > MAX_ATTRIBUTE_VALUES {
        return Err(format!("use at most {MAX_ATTRIBUTE_VALUES} values"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TrialInput {
        TrialInput {
            name: "Nursing and friends".into(),
            slug: "nursing-2026".into(),
            attribute_values: "Nursing\nPharmacy, Estates\nnursing\n".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_form_becomes_settings() {
        let s = TrialSettings::try_from(&input()).unwrap();
        assert_eq!(s.attribute_name, "Department");
        assert_eq!(s.attribute_values, vec!["Nursing", "Pharmacy", "Estates"]);
        assert_eq!(s.kind, TrialKind::Programme);
        assert_eq!(s.group_size, 2);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = TrialInput {
            name: " ".into(),
            slug: "Not A Slug".into(),
            kind: "party".into(),
            group_size: "7".into(),
            ..Default::default()
        };
        let errors = TrialSettings::try_from(&bad).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["name", "slug", "kind", "group_size"]);
    }
}
