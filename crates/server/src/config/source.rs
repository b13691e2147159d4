//! Reading variables, each with its default written once, and keeping what
//! was read (secrets redacted) for `gatehouse config check`.

use std::cell::RefCell;
use std::time::Duration;

use anyhow::bail;
use gatehouse_domain::SecretString;

/// Reads variables through `get`, so tests can pass a map instead of the
/// process environment.
pub(super) struct Source<F: Fn(&str) -> Option<String>> {
    get: F,
    read: RefCell<Vec<(&'static str, String)>>,
}

impl<F: Fn(&str) -> Option<String>> Source<F> {
    pub(super) fn new(get: F) -> Self {
        Self {
            get,
            read: RefCell::new(Vec::new()),
        }
    }

    /// Every variable read, in order, with the value in effect.
    pub(super) fn into_effective(self) -> Vec<(&'static str, String)> {
        self.read.into_inner()
    }

    fn note(&self, name: &'static str, shown: impl Into<String>) {
        self.read.borrow_mut().push((name, shown.into()));
    }

    /// The value, if set to something other than blanks.
    pub(super) fn raw(&self, name: &str) -> Option<String> {
        (self.get)(name).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn string(&self, name: &'static str, default: &str) -> String {
        let value = self.raw(name).unwrap_or_else(|| default.to_owned());
        self.note(name, value.clone());
        value
    }

    /// A value that may hold a password (`scheme://user:password@host`).
    pub(super) fn url(&self, name: &'static str, default: &str) -> String {
        let value = self.raw(name).unwrap_or_else(|| default.to_owned());
        self.note(name, without_password(&value));
        value
    }

    pub(super) fn optional(&self, name: &'static str) -> Option<String> {
        let value = self.raw(name).map(|v| v.trim().to_owned());
        self.note(name, value.clone().unwrap_or_default());
        value
    }

    pub(super) fn secret(&self, name: &'static str) -> Option<SecretString> {
        let value = (self.get)(name)
            .filter(|v| !v.is_empty())
            .map(SecretString::new);
        self.note(name, if value.is_some() { "<redacted>" } else { "" });
        value
    }

    /// A secret URL, shown without its password.
    pub(super) fn secret_url(&self, name: &'static str) -> Option<SecretString> {
        let value = self.raw(name);
        self.note(
            name,
            value.as_deref().map(without_password).unwrap_or_default(),
        );
        value.map(SecretString::new)
    }

    pub(super) fn number<T: std::str::FromStr + std::fmt::Display>(
        &self,
        name: &'static str,
        default: T,
    ) -> anyhow::Result<T> {
        let value = match self.raw(name) {
            None => default,
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{name} must be a whole number, got {raw:?}"))?,
        };
        self.note(name, value.to_string());
        Ok(value)
    }

    /// A number that must lie in `range`; the default is in it.
    pub(super) fn number_in<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> anyhow::Result<T>
    where
        T: std::str::FromStr + std::fmt::Display + PartialOrd,
    {
        let value = self.number(name, default)?;
        if !range.contains(&value) {
            bail!(
                "{name} must be between {} and {}, got {value}",
                range.start(),
                range.end()
            );
        }
        Ok(value)
    }

    /// A number that must be at least `min` (no upper bound but the type's).
    pub(super) fn number_from<T>(&self, name: &'static str, default: T, min: T) -> anyhow::Result<T>
    where
        T: std::str::FromStr + std::fmt::Display + PartialOrd,
    {
        let value = self.number(name, default)?;
        if value < min {
            bail!("{name} must be at least {min}, got {value}");
        }
        Ok(value)
    }

    pub(super) fn flag(&self, name: &'static str) -> anyhow::Result<bool> {
        let value = match (self.get)(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "false" | "0" | "no" | "off") => false,
            Some("true" | "1" | "yes" | "on") => true,
            Some(other) => bail!("{name} must be true or false, got {other:?}"),
        };
        self.note(name, value.to_string());
        Ok(value)
    }

    /// Seconds that must lie in `range`.
    pub(super) fn seconds_in(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> anyhow::Result<Duration> {
        let secs = self.number(name, default)?;
        if !range.contains(&secs) {
            bail!(
                "{name} must be between {} and {} seconds, got {secs}",
                range.start(),
                range.end()
            );
        }
        Ok(Duration::from_secs(secs))
    }

    /// Milliseconds, more than none: a zero wait or interval is a mistake.
    pub(super) fn millis(&self, name: &'static str, default: u64) -> anyhow::Result<Duration> {
        let millis = self.number(name, default)?;
        if millis == 0 {
            bail!("{name} must be greater than 0");
        }
        Ok(Duration::from_millis(millis))
    }
}

/// `scheme://user:password@host/...` with the password replaced.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:<redacted>@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            without_password("smtp://mailer:hunter2@mail.example.com:587?tls=required"),
            "smtp://mailer:<redacted>@mail.example.com:587?tls=required"
        );
        assert_eq!(
            without_password("postgres://app:p@ss@db:5432/gatehouse"),
            "postgres://app:<redacted>@db:5432/gatehouse"
        );
        for plain in [
            "postgres://postgres@127.0.0.1:5432/gatehouse",
            "smtp://mail:25",
            "not a url",
        ] {
            assert_eq!(without_password(plain), plain);
        }
    }
}
