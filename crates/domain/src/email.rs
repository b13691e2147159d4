//! Email addresses as the account key: trimmed and lower-cased, so that
//! `Alice@Example.COM ` and `alice@example.com` are one account.

use std::fmt;

/// Lower-cased, trimmed, at most 254 characters once lower-cased (the
/// form the store holds, whose column checks the same bound). Only `parse`
/// makes one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email is required")]
    Empty,
    #[error("email must be at most 254 characters")]
    TooLong,
    #[error("email must look like name@domain")]
    Invalid,
}

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        // A cheap bound before any work: lower-casing never shortens.
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Invalid)?;
        // Deliberately permissive (RFC 5321 allows far more than most
        // validators do); the verification mail is the real proof.
        let domain_ok = !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        let chars_ok = !trimmed.chars().any(|c| c.is_whitespace() || c.is_control());
        if local.is_empty() || local.contains('@') || !domain_ok || !chars_ok {
            return Err(EmailError::Invalid);
        }
        // Lower-casing can lengthen (`İ` becomes `i̇`, two code points):
        // the bound applies to what is stored.
        let normalised = trimmed.to_lowercase();
        if normalised.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs, which must never hold a full address: the first character
    /// of the local part and the domain, as in `a***@example.com`. A local
    /// part of one or two characters is masked whole.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first: String = if local.chars().count() > 2 {
            local.chars().take(1).collect()
        } else {
            String::new()
        };
        format!("{first}***@{domain}")
    }
}

/// Masked, so that a `{:?}` of anything holding an email logs no address.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_keeps_only_the_first_character_and_the_domain() {
        let email = Email::parse("Ada.Lovelace@Example.com").unwrap();
        assert_eq!(email.masked(), "a***@example.com");
        assert_eq!(format!("{email:?}"), "Email(a***@example.com)");
        let short = Email::parse("é@example.com").unwrap();
        assert_eq!(short.masked(), "***@example.com");
        let three = Email::parse("bob@example.com").unwrap();
        assert_eq!(three.masked(), "b***@example.com");
    }

    #[test]
    fn trims_and_lowercases() {
        let email = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "alice@example.com");
        assert_eq!(email, Email::parse("alice@example.com").unwrap());
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        for raw in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "a@",
            "a@.com",
            "a@b..c",
            "a b@c.d",
            "a@b@c.d",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn length_limit_is_254_characters() {
        let ok = format!("{}@example.com", "a".repeat(254 - 12));
        assert_eq!(ok.len(), 254);
        assert!(Email::parse(&ok).is_ok());
        let too_long = format!("a{ok}");
        assert_eq!(Email::parse(&too_long), Err(EmailError::TooLong));
    }

    #[test]
    fn the_bound_applies_to_the_lower_cased_form() {
        // 126 x İ is 126 characters, 252 once lower-cased.
        let raw = format!("{}@ex.com", "İ".repeat(126));
        assert_eq!(raw.chars().count(), 133);
        assert_eq!(Email::parse(&raw), Err(EmailError::TooLong));
        let fits = format!("{}@ex.com", "İ".repeat(123));
        let email = Email::parse(&fits).unwrap();
        assert_eq!(email.as_str().chars().count(), 253);
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        // A cheap exhaustive-ish sweep over awkward characters instead of a
        // property-test dependency.
        let alphabet = ['a', '@', '.', ' ', '\u{0}', 'É', '\u{200b}', '💥', '\n'];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for d in alphabet {
                        let s: String = [a, b, c, d].iter().collect();
                        let _ = Email::parse(&s);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever the input, parsing answers; what it accepts fits the
        /// store's column (3 to 254 characters, no surrounding space) and
        /// is a fixed point.
        #[test]
        fn parsed_emails_fit_the_store(raw in any::<String>()) {
            if let Ok(email) = Email::parse(&raw) {
                let n = email.as_str().chars().count();
                prop_assert!((3..=Email::MAX_LEN).contains(&n));
                prop_assert_eq!(email.as_str(), email.as_str().trim());
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
            }
        }

        /// Shaped like addresses, with awkward characters on either side.
        #[test]
        fn address_shaped_input_never_escapes_the_bound(
            local in "\\PC{1,140}",
            domain in "\\PC{1,140}",
        ) {
            if let Ok(email) = Email::parse(&format!("{local}@{domain}")) {
                prop_assert!(email.as_str().chars().count() <= Email::MAX_LEN);
            }
        }
    }
}
