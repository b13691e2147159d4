//! TOTP per RFC 6238 (HMAC-SHA1, 6 digits, 30 s steps, one step of skew)
//! with `totp-rs`, the enrolment QR code with `qrcode`, and backup codes
//! from the OS CSPRNG.

use gatehouse_application::PortError;
use gatehouse_application::ports::{OneTimeCodes, SecretBytes, TotpEnrolment};
use gatehouse_domain::{SecretString, Timestamp};
use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::random_tokens::random_bytes;

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
/// RFC 4226 asks for at least 128 bits and recommends 160.
const SECRET_BYTES: usize = 20;
/// Backup codes: lower-case letters and digits without look-alikes
/// (1, i, l and o are left out), 32 of them, so each is 5 bits.
const BACKUP_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";
const BACKUP_CHARS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
pub struct TotpCodes;

fn totp(secret: Vec<u8>, issuer: Option<String>, account: String) -> Result<TOTP, PortError> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        secret,
        issuer,
        account,
    )
    .map_err(|e| PortError::Unexpected(anyhow::anyhow!("TOTP parameters: {e}")))
}

impl OneTimeCodes for TotpCodes {
    fn enrol(&self, issuer: &str, account: &str) -> Result<TotpEnrolment, PortError> {
        let secret = random_bytes::<SECRET_BYTES>()?.to_vec();
        // The label's parts may not hold ':' (it separates them).
        let clean = |s: &str| s.replace(':', "_");
        let uri = totp(secret.clone(), Some(clean(issuer)), clean(account))?.get_url();
        let qr_svg = QrCode::new(uri.as_bytes())
            .map_err(|e| PortError::Unexpected(anyhow::anyhow!("QR code: {e}")))?
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        let secret_base32 = Secret::Raw(secret.clone()).to_encoded().to_string();
        Ok(TotpEnrolment {
            secret: SecretBytes(secret),
            secret_base32: SecretString::new(secret_base32),
            otpauth_uri: SecretString::new(uri),
            qr_svg: SecretString::new(qr_svg),
        })
    }

    fn totp_step(&self, secret: &[u8], code: &str, now: Timestamp) -> Option<i64> {
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = totp(secret.to_vec(), None, String::new()).ok()?;
        let current = u64::try_from(now.timestamp()).ok()? / STEP_SECS;
        // Latest first: if two steps gave the same code, spending the later
        // one refuses both afterwards.
        [current + 1, current, current.saturating_sub(1)]
            .into_iter()
            .find(|step| {
                let expected = totp.generate(step * STEP_SECS);
                constant_time_eq(expected.as_bytes(), code.as_bytes())
            })
            .and_then(|step| i64::try_from(step).ok())
    }

    fn backup_codes(&self, count: usize) -> Result<Vec<SecretString>, PortError> {
        (0..count)
            .map(|_| {
                let bytes = random_bytes::<BACKUP_CHARS>()?;
                let chars: String = bytes
                    .iter()
                    .map(|b| char::from(BACKUP_ALPHABET[usize::from(b % 32)]))
                    .collect();
                Ok(SecretString::new(format!(
                    "{}-{}",
                    &chars[..5],
                    &chars[5..]
                )))
            })
            .collect()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed, and its code at T = 59 s
    /// (94287082 in eight digits; the last six in six).
    const RFC_SEED: &[u8] = b"12345678901234567890";

    fn at(secs: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(secs, 0).single().unwrap()
    }

    #[test]
    fn the_rfc_6238_vector_matches_one_step_either_side_and_no_further() {
        let codes = TotpCodes;
        // 59 s is step 1; it is accepted from step 0 to step 2.
        assert_eq!(codes.totp_step(RFC_SEED, "287082", at(59)), Some(1));
        assert_eq!(codes.totp_step(RFC_SEED, "287082", at(89)), Some(1));
        assert_eq!(codes.totp_step(RFC_SEED, "287082", at(5)), Some(1));
        assert_eq!(codes.totp_step(RFC_SEED, "287082", at(90)), None);
        for bad in ["287083", "28708", "2870820", "28708a", ""] {
            assert_eq!(codes.totp_step(RFC_SEED, bad, at(59)), None, "{bad}");
        }
    }

    #[test]
    fn enrolment_gives_a_fresh_160_bit_secret_its_uri_and_a_qr_code() {
        let codes = TotpCodes;
        let a = codes.enrol("Gatehouse", "ada@example.com").unwrap();
        let b = codes.enrol("Gatehouse", "ada@example.com").unwrap();
        assert_eq!(a.secret.0.len(), 20);
        assert_ne!(a.secret.0, b.secret.0);
        assert_eq!(a.secret_base32.expose().len(), 32);
        let uri = a.otpauth_uri.expose();
        assert!(
            uri.starts_with("otpauth://totp/Gatehouse:ada%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", a.secret_base32.expose())),
            "{uri}"
        );
        assert!(uri.contains("issuer=Gatehouse"), "{uri}");
        assert!(a.qr_svg.expose().starts_with("<?xml"), "an SVG document");
        assert!(a.qr_svg.expose().contains("<svg"));
        // A code made from the secret now matches now.
        let totp = totp(a.secret.0.clone(), None, String::new()).unwrap();
        let now = at(1_800_000_000);
        let code = totp.generate(1_800_000_000);
        assert_eq!(codes.totp_step(&a.secret.0, &code, now), Some(60_000_000));
    }

    #[test]
    fn backup_codes_are_ten_distinct_readable_codes() {
        let codes = TotpCodes.backup_codes(10).unwrap();
        assert_eq!(codes.len(), 10);
        let mut seen = std::collections::HashSet::new();
        for code in &codes {
            let code = code.expose();
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(&code[5..6], "-");
            assert!(
                code.chars()
                    .filter(|c| *c != '-')
                    .all(|c| BACKUP_ALPHABET.contains(&(c as u8))),
                "{code}"
            );
            assert!(seen.insert(code.to_owned()));
        }
    }
}
