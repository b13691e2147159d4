//! What a user says about themselves: a display name and a JSON object
//! of their own. Both are bounded here, so no store or page ever holds an
//! oversized or invisible-character name.

use serde_json::{Map, Value};

/// The most code points a name may have, after trimming.
pub const MAX_NAME_CHARS: usize = 100;
/// The most bytes `metadata` may take, serialised compactly.
pub const MAX_METADATA_BYTES: usize = 4 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("a name must be 1 to {MAX_NAME_CHARS} characters")]
    NameLength,
    #[error("a name must not contain control or invisible formatting characters")]
    NameCharacters,
    #[error("metadata must be a JSON object of at most {MAX_METADATA_BYTES} bytes")]
    MetadataTooLarge,
    #[error("metadata must be a JSON object")]
    MetadataNotObject,
    #[error("metadata must not contain the NUL character")]
    MetadataCharacters,
}

/// A display name: trimmed, 1 to 100 code points, no control or format
/// characters (which would hide or reorder what a reader sees).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// # Errors
    /// `NameLength` or `NameCharacters`.
    pub fn parse(raw: &str) -> Result<Self, ProfileError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(ProfileError::NameLength);
        }
        if name.chars().any(|c| c.is_control() || is_format(c)) {
            return Err(ProfileError::NameCharacters);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode's format characters (general category Cf, Unicode 15): soft
/// hyphen, zero-width and bidirectional controls, the byte order mark,
/// tags and the like.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A JSON object the user owns, `{}` when unset, at most 4 KiB compact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    /// # Errors
    /// `MetadataNotObject`, or `MetadataTooLarge`.
    pub fn new(value: Value) -> Result<Self, ProfileError> {
        let Value::Object(map) = value else {
            return Err(ProfileError::MetadataNotObject);
        };
        let compact = serde_json::to_string(&map).map_err(|_| ProfileError::MetadataNotObject)?;
        if compact.len() > MAX_METADATA_BYTES {
            return Err(ProfileError::MetadataTooLarge);
        }
        // PostgreSQL's jsonb holds no NUL in a string or key.
        if map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)) {
            return Err(ProfileError::MetadataCharacters);
        }
        Ok(Self(map))
    }

    /// Metadata as a store gives it back: an object, not checked against
    /// the size again, since a store may write it out at another length
    /// (PostgreSQL's jsonb spells `1e19` as twenty digits) and a user must
    /// never be locked out by a value the service accepted.
    ///
    /// # Errors
    /// When the stored value is not an object.
    pub fn from_stored(value: Value) -> Result<Self, ProfileError> {
        match value {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(ProfileError::MetadataNotObject),
        }
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The compact JSON text, as the stores keep it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    /// # Errors
    /// When the stored text is not an object within the bound.
    pub fn from_json(raw: &str) -> Result<Self, ProfileError> {
        let value: Value =
            serde_json::from_str(raw).map_err(|_| ProfileError::MetadataNotObject)?;
        Self::from_stored(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_visible() {
        assert_eq!(
            DisplayName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(
            DisplayName::parse(&"é".repeat(100))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            100
        );
        assert_eq!(
            DisplayName::parse(&"é".repeat(101)),
            Err(ProfileError::NameLength)
        );
        assert_eq!(DisplayName::parse("   "), Err(ProfileError::NameLength));
        for hidden in [
            "a\u{0007}b",
            "a\nb",
            "evil\u{202E}txt",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "tag\u{E0041}",
        ] {
            assert_eq!(
                DisplayName::parse(hidden),
                Err(ProfileError::NameCharacters),
                "{hidden:?}"
            );
        }
        assert!(DisplayName::parse("李小龍").is_ok());
    }

    #[test]
    fn metadata_is_an_object_of_at_most_4_kib() {
        assert_eq!(
            Metadata::new(serde_json::json!({})).unwrap().to_json(),
            "{}"
        );
        let fits = serde_json::json!({ "k": "x".repeat(MAX_METADATA_BYTES - 8) });
        assert_eq!(
            Metadata::new(fits.clone()).unwrap().to_json().len(),
            MAX_METADATA_BYTES
        );
        let over = serde_json::json!({ "k": "x".repeat(MAX_METADATA_BYTES - 7) });
        assert_eq!(Metadata::new(over), Err(ProfileError::MetadataTooLarge));
        for not_object in [
            serde_json::json!([]),
            serde_json::json!("x"),
            serde_json::json!(null),
        ] {
            assert_eq!(
                Metadata::new(not_object),
                Err(ProfileError::MetadataNotObject)
            );
        }
        assert_eq!(
            Metadata::new(serde_json::json!({ "k": "a\u{0}b" })),
            Err(ProfileError::MetadataCharacters)
        );
        assert_eq!(
            Metadata::new(serde_json::json!({ "a\u{0}": 1 })),
            Err(ProfileError::MetadataCharacters)
        );
        assert_eq!(
            Metadata::new(serde_json::json!({ "deep": [{ "k": "\u{0}" }] })),
            Err(ProfileError::MetadataCharacters)
        );
        assert!(
            Metadata::new(serde_json::json!({ "k": "a\\u0000b" })).is_ok(),
            "the text is fine"
        );
        let round = Metadata::new(serde_json::json!({ "plan": "pro", "n": [1, 2] })).unwrap();
        assert_eq!(Metadata::from_json(&round.to_json()).unwrap(), round);
    }
}
