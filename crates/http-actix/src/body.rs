//! Turning request bodies into domain values: JSON parsing errors become
//! 400/413/415/422 problems, and every field error is reported at once,
//! from garde's shape checks and the domain's own parsers alike.

use actix_web::error::JsonPayloadError;
use actix_web::http::header;
use actix_web::mime;
use actix_web::{HttpRequest, web};
use chrono::SecondsFormat;
use gatehouse_domain::{EmailError, PasswordError, ProfileError, Timestamp};

use crate::problem::{ApiError, FieldError};

/// Bodies beyond this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn is_json(mime: mime::Mime) -> bool {
    mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON)
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type(is_json)
        .content_type_required(true)
        .error_handler(|error, request| json_error(&error, request).into())
}

fn has_body(request: &HttpRequest) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

fn json_error(error: &JsonPayloadError, request: &HttpRequest) -> ApiError {
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::payload_too_large()
        }
        // A request without a body needs no content type: it is simply
        // missing what this endpoint requires.
        JsonPayloadError::ContentType if !has_body(request) => {
            ApiError::malformed("A JSON request body is required.")
        }
        JsonPayloadError::ContentType => ApiError::unsupported_media_type(),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            // serde's message may quote the input (a password, say): never echo it.
            ApiError::validation(vec![FieldError::new(
                "body",
                "type",
                "A field has the wrong type.",
            )])
        }
        JsonPayloadError::Deserialize(_) => {
            ApiError::malformed("The request body is not valid JSON.")
        }
        _ => ApiError::malformed("The request body could not be read."),
    }
}

/// Collects field errors from garde and the domain parsers, then fails once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn from_garde<T: garde::Validate<Context = ()>>(body: &T) -> Self {
        let mut errors = Vec::new();
        if let Err(report) = body.validate() {
            for (path, error) in report.iter() {
                let message = error.message().to_string();
                let code = if message.starts_with("not set") {
                    "required"
                } else if message.starts_with("length") {
                    "length"
                } else {
                    "invalid"
                };
                errors.push(FieldError::new(&path.to_string(), code, message));
            }
        }
        Self(errors)
    }

    fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// Parses `value` unless garde already refused the field.
    pub fn parse<T, E: Into<FieldIssue>>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        if self.has(field) {
            return None;
        }
        let value = value?;
        match parse(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let issue: FieldIssue = e.into();
                self.0
                    .push(FieldError::new(field, issue.code, issue.message));
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// One field's domain error, for errors found past the body (in a use case).
pub fn field_error(field: &str, issue: impl Into<FieldIssue>) -> FieldError {
    let issue = issue.into();
    FieldError::new(field, issue.code, issue.message)
}

/// A field error with a code and message of the caller's.
pub fn field_error_text(field: &str, code: &str, message: &str) -> FieldError {
    FieldError::new(field, code, message)
}

/// A domain parse error as a field error's code and message.
#[derive(Debug)]
pub struct FieldIssue {
    code: &'static str,
    message: String,
}

impl FieldIssue {
    /// A value that is not one of the accepted forms.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: "invalid",
            message: message.into(),
        }
    }
}

impl From<EmailError> for FieldIssue {
    fn from(e: EmailError) -> Self {
        let code = match e {
            EmailError::Empty => "required",
            EmailError::TooLong => "length",
            EmailError::Invalid => "email",
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<PasswordError> for FieldIssue {
    fn from(e: PasswordError) -> Self {
        let code = match e {
            PasswordError::TooShort { .. } | PasswordError::TooLong { .. } => "length",
            PasswordError::Breached => "breached",
            PasswordError::EqualsEmail => "equals_email",
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<ProfileError> for FieldIssue {
    fn from(e: ProfileError) -> Self {
        let code = match e {
            ProfileError::NameLength | ProfileError::MetadataTooLarge => "length",
            ProfileError::NameCharacters | ProfileError::MetadataCharacters => "characters",
            ProfileError::MetadataNotObject => "object",
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<std::convert::Infallible> for FieldIssue {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

/// An optional whole number as JSON Schema defines one: `30` and `30.0`
/// alike (serde's integers refuse the second, which a client's JSON
/// library may well write).
pub(crate) fn whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(f))
            // Exact: a whole f64 below 2^53.
            .map(|f| f as u64)
    });
    whole
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom("expected a whole number in range"))
}

/// Passwords are checked by the domain (8 to 128 code points); this only
/// caps the work an oversized value could cause.
pub(crate) const MAX_RAW_PASSWORD: usize = 1024;

pub(crate) fn rfc3339(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Days {
        #[serde(default, deserialize_with = "super::whole_number")]
        days: Option<u32>,
    }

    fn days(json: &str) -> Result<Option<u32>, serde_json::Error> {
        serde_json::from_str::<Days>(json).map(|d| d.days)
    }

    #[test]
    fn whole_numbers_in_either_spelling_and_nothing_else() {
        assert_eq!(days(r#"{"days": 30}"#).unwrap(), Some(30));
        assert_eq!(days(r#"{"days": 30.0}"#).unwrap(), Some(30));
        assert_eq!(days(r#"{"days": null}"#).unwrap(), None);
        assert_eq!(days("{}").unwrap(), None);
        for bad in [
            r#"{"days": 30.5}"#,
            r#"{"days": -1}"#,
            r#"{"days": 1e300}"#,
            r#"{"days": 4294967296}"#,
            r#"{"days": "30"}"#,
        ] {
            assert!(days(bad).is_err(), "{bad}");
        }
    }
}
