//! Passwords as NIST SP 800-63B asks: length is what counts (code points,
//! after NFKC so that visually identical input hashes identically), no
//! composition rules, never truncated, and a deny-list of common choices.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

use crate::email::Email;
use crate::secret::SecretString;

/// Upper bound from the contract; also caps hashing work per request.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The lowest minimum an operator may configure: shorter is not a password.
pub const LOWEST_MIN_LENGTH: usize = 6;

/// The 30,000 most common passwords (lower-cased), from the zxcvbn
/// frequency lists (MIT licence), bundled so the check needs no network.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .collect()
});

/// A password that passed the policy, NFKC-normalised. Debug prints `Password(***)`.
#[derive(Clone)]
pub struct Password(SecretString);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRules {
    pub min_length: usize,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self { min_length: 8 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {min} characters")]
    TooShort { min: usize },
    #[error("password must be at most {max} characters")]
    TooLong { max: usize },
    #[error("password is too common; choose another")]
    Breached,
    #[error("password must not be the email address")]
    EqualsEmail,
}

impl Password {
    /// A new password that an account will use: the full policy applies.
    pub fn new(
        raw: &str,
        rules: &PasswordRules,
        email: Option<&Email>,
    ) -> Result<Self, PasswordError> {
        let normalized: String = raw.nfkc().collect();
        // The bounds count what was typed, as the published schema does:
        // NFKC can lengthen a password (a cedilla is two code points once
        // normalised) or shorten it, and a password the schema calls too
        // short must not pass because normalising grew it.
        let length = raw.chars().count();
        if length < rules.min_length {
            return Err(PasswordError::TooShort {
                min: rules.min_length,
            });
        }
        if length > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong {
                max: MAX_PASSWORD_CHARS,
            });
        }
        let folded = normalized.to_lowercase();
        if email.is_some_and(|e| e.as_str() == folded.trim()) {
            return Err(PasswordError::EqualsEmail);
        }
        if is_common(&folded) {
            return Err(PasswordError::Breached);
        }
        Ok(Self(SecretString::new(normalized)))
    }

    /// A password offered to prove identity (login, re-authentication): it
    /// is only normalised, because accounts made under an older policy must
    /// still be able to log in.
    pub fn presented(raw: &str) -> Self {
        Self(SecretString::new(raw.nfkc().collect::<String>()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Case-insensitive: `Password1` is as guessable as `password1`.
pub fn is_common(candidate: &str) -> bool {
    COMMON_PASSWORDS.contains(candidate.to_lowercase().as_str())
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password hash in PHC string format. Debug never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(SecretString);

impl PasswordHash {
    pub fn new(phc: impl Into<String>) -> Self {
        Self(SecretString::new(phc))
    }
    pub fn as_str(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PasswordRules {
        PasswordRules::default()
    }

    #[test]
    fn bundled_list_is_large_enough() {
        assert!(COMMON_PASSWORDS.len() >= 10_000);
    }

    #[test]
    fn accepts_a_long_unusual_password() {
        let p = Password::new("correct horse battery staple", &rules(), None).unwrap();
        assert_eq!(p.expose(), "correct horse battery staple");
    }

    #[test]
    fn length_counts_code_points_not_bytes() {
        // 8 code points, 24 bytes.
        assert!(Password::new("ßßßßßßßß", &rules(), None).is_ok());
        assert_eq!(
            Password::new("éééé", &rules(), None).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        let max = "ж".repeat(MAX_PASSWORD_CHARS);
        assert!(Password::new(&max, &rules(), None).is_ok());
        let over = "ж".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(
            Password::new(&over, &rules(), None).unwrap_err(),
            PasswordError::TooLong { max: 128 }
        );
    }

    /// The bounds count the code points typed, as the published schema
    /// does, whatever normalising makes of them.
    #[test]
    fn length_is_counted_before_normalising() {
        // 7 code points; NFKC makes the cedilla two (a space and a combining one).
        assert_eq!(
            Password::new("abc\u{b8}defg", &rules(), None).map(|p| p.expose().chars().count()),
            Ok(9)
        );
        assert_eq!(
            Password::new("abc\u{b8}def", &rules(), None).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        // 8 code points that NFKC composes into 4.
        let decomposed = "e\u{301}".repeat(4);
        assert!(Password::new(&decomposed, &rules(), None).is_ok());
    }

    #[test]
    fn nfkc_makes_equivalent_input_equal() {
        // U+FB01 LATIN SMALL LIGATURE FI normalises to "fi".
        let a = Password::new("\u{fb01}sh-and-chips-42", &rules(), None).unwrap();
        let b = Password::new("fish-and-chips-42", &rules(), None).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(Password::presented("\u{fb01}x").expose(), "fix");
    }

    #[test]
    fn rejects_common_passwords_case_insensitively() {
        for p in [
            "password",
            "PASSWORD1",
            "12345678",
            "Iloveyou",
            "qwertyuiop",
        ] {
            assert_eq!(
                Password::new(p, &rules(), None).unwrap_err(),
                PasswordError::Breached,
                "{p}"
            );
        }
    }

    #[test]
    fn rejects_the_email_itself() {
        let email = Email::parse("someone.unusual@example.org").unwrap();
        assert_eq!(
            Password::new("Someone.Unusual@Example.org", &rules(), Some(&email)).unwrap_err(),
            PasswordError::EqualsEmail
        );
    }

    #[test]
    fn minimum_is_configurable() {
        let strict = PasswordRules { min_length: 12 };
        assert_eq!(
            Password::new("zebra-lamp", &strict, None).unwrap_err(),
            PasswordError::TooShort { min: 12 }
        );
    }

    #[test]
    fn secrets_never_print() {
        let p = Password::new("a very private phrase", &rules(), None).unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(
            format!("{:?}", PasswordHash::new("$argon2id$...")),
            "PasswordHash(***)"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Any input is accepted or refused, never a panic; an accepted one
        /// is NFKC, and was within the bounds as typed, in code points.
        #[test]
        fn accepted_passwords_are_normalised_and_bounded(raw in any::<String>()) {
            if let Ok(password) = Password::new(&raw, &PasswordRules::default(), None) {
                let n = raw.chars().count();
                prop_assert!((8..=MAX_PASSWORD_CHARS).contains(&n));
                let again: String = password.expose().nfkc().collect();
                prop_assert_eq!(again.as_str(), password.expose());
            }
            let _ = Password::presented(&raw);
        }
    }
}
