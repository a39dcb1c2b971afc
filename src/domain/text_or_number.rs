//! Whole numbers in request bodies: JSON clients may send them as numbers or as text (the form
//! always sends text), and null or a missing field means "not given". Every numeric field of a
//! body reads them the same way, so no field takes `2` where another insists on `"2"`.

/// What a numeric field accepts besides null; also its schema in the OpenAPI document (as
/// `Option<TextOrNumber>`).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TextOrNumber {
    Number(i64),
    Text(String),
}

/// `#[serde(deserialize_with = "text_or_number")]` for a `String` field: digits as the form
/// would have sent them, or empty for null.
pub fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(
        match <Option<TextOrNumber> as serde::Deserialize>::deserialize(d)? {
            Some(TextOrNumber::Number(n)) => n.to_string(),
            Some(TextOrNumber::Text(s)) => s,
            None => String::new(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::text_or_number;

    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(deserialize_with = "text_or_number", default)]
        n: String,
    }

    fn read(json: &str) -> Result<String, serde_json::Error> {
        serde_json::from_str::<Body>(json).map(|b| b.n)
    }

    #[test]
    fn numbers_text_and_null_read_alike() {
        assert_eq!(read(r#"{"n": 3}"#).unwrap(), "3");
        assert_eq!(read(r#"{"n": "3"}"#).unwrap(), "3");
        assert_eq!(read(r#"{"n": null}"#).unwrap(), "");
        assert_eq!(read(r#"{}"#).unwrap(), "");
        assert!(read(r#"{"n": [3]}"#).is_err());
    }
}
