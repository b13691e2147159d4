//! How a session was signed in (`amr`, RFC 8176): the methods, in the
//! order they were used.

/// One authentication method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// A password.
    Password,
    /// A one-time code: TOTP or a backup code.
    OneTimeCode,
}

impl AuthMethod {
    /// The RFC 8176 value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::OneTimeCode => "otp",
        }
    }

    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pwd" => Some(Self::Password),
            "otp" => Some(Self::OneTimeCode),
            _ => None,
        }
    }
}

/// The methods of one sign-in. Only the two sequences Gatehouse makes
/// exist: a password, or a password then a one-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Amr {
    Password,
    PasswordAndOneTimeCode,
}

impl Amr {
    #[must_use]
    pub fn methods(self) -> &'static [AuthMethod] {
        match self {
            Self::Password => &[AuthMethod::Password],
            Self::PasswordAndOneTimeCode => &[AuthMethod::Password, AuthMethod::OneTimeCode],
        }
    }

    /// The claim's strings, `["pwd"]` or `["pwd", "otp"]`.
    #[must_use]
    pub fn to_strings(self) -> Vec<String> {
        self.methods()
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect()
    }

    /// Reads the claim (or a stored copy); anything else is `None`.
    #[must_use]
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Option<Self> {
        let methods: Option<Vec<AuthMethod>> = values
            .iter()
            .map(|v| AuthMethod::parse(v.as_ref()))
            .collect();
        match methods?.as_slice() {
            [AuthMethod::Password] => Some(Self::Password),
            [AuthMethod::Password, AuthMethod::OneTimeCode] => Some(Self::PasswordAndOneTimeCode),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_claim() {
        for amr in [Amr::Password, Amr::PasswordAndOneTimeCode] {
            assert_eq!(Amr::parse(&amr.to_strings()), Some(amr));
        }
        assert_eq!(Amr::PasswordAndOneTimeCode.to_strings(), ["pwd", "otp"]);
        for bad in [vec![], vec!["otp"], vec!["pwd", "pwd"], vec!["pwd", "mfa"]] {
            assert_eq!(Amr::parse(&bad), None, "{bad:?}");
        }
    }
}
