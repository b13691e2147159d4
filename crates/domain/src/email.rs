//! Email addresses as the account key: trimmed, NFC-normalised and
//! lower-cased, so that `Alice@Example.COM ` and `alice@example.com` (and
//! the two Unicode spellings of `é`) are one account.
//!
//! Only a plain `local@domain` is an address here: the local part a
//! dot-atom, the domain dot-separated labels. No display names, angle
//! brackets, quotes, comments or spaces: a mail library given
//! `bob<x@evil.example>` would send to `x@evil.example`, so such strings
//! never become an account's address.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

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
        // A cheap bound before any work: NFC and lower-casing keep a
        // string within a few times its length.
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let normalised: String = trimmed.nfc().collect::<String>().to_lowercase();
        // NFC again: lower-casing can leave a decomposed form behind.
        let normalised: String = normalised.nfc().collect();
        let (local, domain) = normalised.split_once('@').ok_or(EmailError::Invalid)?;
        if !is_dot_atom(local) || !is_domain(domain) {
            return Err(EmailError::Invalid);
        }
        // Lower-casing can lengthen (`İ` becomes `i̇`, two code points):
        // the bound applies to what is stored.
        if normalised.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        Ok(Self(normalised))
    }

    /// The local part and the domain, as a mail library takes them apart
    /// from any display name.
    pub fn parts(&self) -> (&str, &str) {
        self.0.split_once('@').unwrap_or((&self.0, ""))
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

/// The characters an atom of the local part may hold besides letters and
/// digits of any script (RFC 5322's `atext`, RFC 6532 for the rest).
const ATOM_SYMBOLS: &str = "!#$%&'*+/=?^_`{|}~-";

/// Letters (of any script, with the marks that belong to them) and digits.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// Combining marks that NFC cannot fold into a letter (Devanagari vowel
/// signs, say) are part of words in their scripts.
fn is_combining_mark(c: char) -> bool {
    matches!(u32::from(c),
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957
        | 0x0962..=0x0963 | 0x0981..=0x0983 | 0x09BC..=0x09D7 | 0x0E31..=0x0E3A
        | 0x0E47..=0x0E4E | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF
        | 0x3099..=0x309A | 0xFE20..=0xFE2F)
        && !crate::client::is_format_char(c)
}

/// Atoms of letters, digits and [`ATOM_SYMBOLS`], joined by single dots.
fn is_dot_atom(local: &str) -> bool {
    !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| is_word_char(c) || ATOM_SYMBOLS.contains(c))
        })
}

/// At least two labels of letters, digits and inner hyphens, each at most
/// 63 characters (DNS's bound for a label).
fn is_domain(domain: &str) -> bool {
    let mut labels = 0;
    for label in domain.split('.') {
        let ok = (1..=63).contains(&label.chars().count())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| is_word_char(c) || c == '-');
        if !ok {
            return false;
        }
        labels += 1;
    }
    labels >= 2
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
            "bob<x@evil.example>",
            "Bob <bob@example.com>",
            "<svg onload=alert(1)>@x.io",
            "\"quoted\"@example.com",
            "bob(comment)@example.com",
            "a,b@example.com",
            "a;b@example.com",
            "a:b@example.com",
            "a\\b@example.com",
            "a[b]@example.com",
            ".bob@example.com",
            "bob.@example.com",
            "bo..b@example.com",
            "bob@localhost",
            "bob@-example.com",
            "bob@example-.com",
            "bob@exa_mple.com",
            "bob@[192.0.2.1]",
            "bob@example.com.",
            "bob\u{202e}@example.com",
            "bob\u{200b}@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn accepts_plain_addresses_of_any_script() {
        for raw in [
            "ada@example.com",
            "ada.lovelace+gatehouse@mail.example.co.uk",
            "o'brien@example.ie",
            "x!#$%&'*/=?^_`{|}~-y@example.com",
            "用户@例子.广告",
            "δοκιμή@παράδειγμα.δοκιμή",
            "उपयोगकर्ता@उदाहरण.कॉम",
            "1234@123.example",
            "a@b-c.de",
        ] {
            assert!(Email::parse(raw).is_ok(), "{raw:?} should be accepted");
        }
    }

    #[test]
    fn unicode_spellings_of_one_address_are_one_account() {
        let composed = Email::parse("jos\u{e9}@example.com").unwrap();
        let decomposed = Email::parse("jose\u{301}@example.com").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(Email::parse("JOSÉ@EXAMPLE.COM").unwrap(), composed);
    }

    #[test]
    fn parts_are_the_local_part_and_the_domain() {
        let email = Email::parse("Ada@Example.com").unwrap();
        assert_eq!(email.parts(), ("ada", "example.com"));
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

        /// Whatever it accepts holds none of the characters that make an
        /// address something else (a display name, a group, a quote) and
        /// has exactly one `@`, so a mail library can only read it as is.
        #[test]
        fn accepted_emails_are_plain_addresses(raw in any::<String>()) {
            if let Ok(email) = Email::parse(&raw) {
                let forbidden = ['<', '>', '(', ')', ',', ';', ':', '\\', '[', ']', '"', ' '];
                prop_assert!(!email.as_str().chars().any(|c| forbidden.contains(&c) || c.is_control()));
                prop_assert_eq!(email.as_str().matches('@').count(), 1);
                let (local, domain) = email.parts();
                prop_assert!(!local.starts_with('.') && !local.ends_with('.'));
                prop_assert!(domain.contains('.'));
            }
        }

        /// Address-shaped input built from the allowed alphabet parses, and
        /// its NFC and lower-cased form is a fixed point.
        #[test]
        fn well_formed_addresses_parse(
            local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[a-zA-Z0-9_-]{1,10}){0,3}",
            labels in proptest::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", 2..4),
        ) {
            let raw = format!("{local}@{}", labels.join("."));
            let email = Email::parse(&raw);
            prop_assert!(email.is_ok(), "{raw:?}: {email:?}");
            let email = email.unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(email.as_str(), raw.to_lowercase());
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
