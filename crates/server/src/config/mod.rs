//! Configuration from the environment, with the contract's variable names
//! and defaults, validated once at start with messages that name the
//! variable. One nested value, one module per section: each variable's
//! doc (on its field), default and bounds (where it is read) sit side by
//! side. Secrets are wrapped so that no `{:?}` prints them.

mod accounts;
mod database;
mod http;
mod keys;
mod mail;
mod operations;
mod passwords;
mod source;
mod tokens;

use std::time::Duration;

use anyhow::bail;
use gatehouse_adapter_crypto::JwtKeys;
use gatehouse_domain::SecretString;

pub use accounts::AccountConfig;
pub use database::DatabaseConfig;
pub use http::HttpConfig;
pub use keys::{MIN_SECRET_BYTES, TokenKeySource};
pub use mail::MailConfig;
pub use operations::{LogFormat, OperationsConfig};
use passwords::OWASP_ARGON2_MEMORY_KIB;
pub use passwords::PasswordConfig;
use source::Source;
pub use tokens::TokenConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub tokens: TokenConfig,
    pub passwords: PasswordConfig,
    pub accounts: AccountConfig,
    pub mail: MailConfig,
    pub operations: OperationsConfig,
    /// Encrypts data at rest; checked when `serve` starts.
    pub data_key: Option<SecretString>,
    /// Former data keys, still accepted for what they sealed
    /// (`AUTH_DATA_KEY_PREVIOUS`, comma-separated) during a rotation.
    pub data_key_previous: Vec<SecretString>,
    /// Every variable read, with the value in effect (secrets redacted).
    pub effective: Vec<(&'static str, String)>,
    /// Variables that are set but mean nothing in this configuration.
    pub unused: Vec<&'static str>,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_source(|name| std::env::var(name).ok())
    }

    pub fn from_source(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let s = Source::new(get);
        let database = DatabaseConfig::read(&s)?;
        if crate::store::BackendKind::of_url(&database.url)? == crate::store::BackendKind::Sqlite {
            #[cfg(feature = "sqlite")]
            gatehouse_adapter_sqlite::sqlite_path(&database.url)?;
        }
        let http = HttpConfig::read(&s)?;
        let tokens = TokenConfig::read(&s)?;
        let unused = if matches!(tokens.keys, TokenKeySource::EdDsa { .. })
            && s.raw("AUTH_JWT_SECRET").is_some()
        {
            vec!["AUTH_JWT_SECRET"]
        } else {
            Vec::new()
        };
        let data_key = s.secret("AUTH_DATA_KEY");
        let data_key_previous: Vec<SecretString> = s
            .secret("AUTH_DATA_KEY_PREVIOUS")
            .map(|keys| {
                keys.expose()
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(SecretString::new)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            database,
            http,
            tokens,
            passwords: PasswordConfig::read(&s)?,
            accounts: AccountConfig::read(&s)?,
            mail: MailConfig::read(&s)?,
            operations: OperationsConfig::read(&s)?,
            data_key,
            data_key_previous,
            unused,
            effective: s.into_effective(),
        })
    }

    /// Legal values weaker than recommended: the service starts, and says
    /// so loudly. (Tests and benchmarks choose cheap costs and short
    /// lifetimes on purpose.)
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .unused
            .iter()
            .map(|name| format!("{name} is set but not used with this AUTH_JWT_ALGORITHM"))
            .collect();
        let p = &self.passwords;
        if p.argon2_memory_kib < OWASP_ARGON2_MEMORY_KIB || p.argon2_iterations < 2 {
            warnings.push(format!(
                "Argon2 cost m={} KiB t={} is below the OWASP minimum (m=19456 KiB, t=2): \
                 passwords are cheaper to guess from a stolen database",
                p.argon2_memory_kib, p.argon2_iterations
            ));
        }
        if self.tokens.access_ttl > Duration::from_secs(3_600) {
            warnings.push(format!(
                "AUTH_ACCESS_TOKEN_TTL_SECS={} is over an hour: other services accept a revoked \
                 session's access tokens until they expire",
                self.tokens.access_ttl.as_secs()
            ));
        }
        warnings
    }

    /// What `serve` needs beyond what `migrate` does: the keys.
    pub fn check_keys(&self) -> anyhow::Result<()> {
        self.jwt_keys()?;
        if let (TokenKeySource::Hs256 { secret: Some(jwt) }, Some(data)) =
            (&self.tokens.keys, self.data_key.as_ref())
            && jwt.expose() == data.expose()
        {
            // One leaked value would then both forge tokens and open every
            // secret at rest; each key must be its own.
            bail!("AUTH_JWT_SECRET and AUTH_DATA_KEY must be different values");
        }
        keys::check_secret(
            "AUTH_DATA_KEY",
            self.data_key.as_ref(),
            "to encrypt secrets at rest",
        )?;
        for previous in &self.data_key_previous {
            keys::check_secret(
                "AUTH_DATA_KEY_PREVIOUS",
                Some(previous),
                "for each former key",
            )?;
        }
        Ok(())
    }

    /// The access-token keys, files read.
    pub fn jwt_keys(&self) -> anyhow::Result<JwtKeys> {
        self.tokens.keys.load()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_source(|name| map.get(name).cloned())
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const DATA_KEY: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn defaults_follow_the_contract() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.database.url,
            "postgres://postgres@127.0.0.1:5432/gatehouse"
        );
        assert_eq!(c.http.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.tokens.access_ttl, Duration::from_secs(900));
        assert_eq!(c.tokens.refresh_idle_ttl, Duration::from_secs(604_800));
        assert_eq!(
            c.tokens.session_max_lifetime,
            Duration::from_secs(2_592_000)
        );
        assert_eq!(c.tokens.refresh_reuse_grace, Duration::from_secs(10));
        let p = &c.passwords;
        assert_eq!(
            (
                p.argon2_memory_kib,
                p.argon2_iterations,
                p.argon2_parallelism
            ),
            (19_456, 2, 1)
        );
        assert_eq!(p.min_length, 8);
        assert!(matches!(
            c.tokens.keys,
            TokenKeySource::Hs256 { secret: None }
        ));
        assert_eq!(
            (c.tokens.issuer.as_str(), c.tokens.audience.as_str()),
            ("gatehouse", "gatehouse")
        );
        assert_eq!(c.mail.public_url, "http://127.0.0.1:8080");
        assert!(!c.accounts.require_verified_email);
        assert!(c.mail.smtp_url.is_none());
        assert_eq!(c.mail.from, "gatehouse@localhost");
        assert_eq!(c.mail.dir, PathBuf::from("./mail"));
        assert_eq!(c.operations.log_format, LogFormat::Text);
        assert_eq!(c.http.rate_limit_per_min, 300);
    }

    #[test]
    fn the_smtp_password_never_prints() {
        let c = config(&[("AUTH_SMTP_URL", "smtp://user:hunter2@mail:587")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn serve_refuses_one_value_for_both_keys() {
        let same = config(&[("AUTH_JWT_SECRET", KEY), ("AUTH_DATA_KEY", KEY)])
            .unwrap()
            .check_keys()
            .unwrap_err()
            .to_string();
        assert!(
            same.contains("AUTH_JWT_SECRET") && same.contains("AUTH_DATA_KEY"),
            "{same}"
        );
    }

    #[test]
    fn serve_needs_both_keys_of_32_bytes() {
        assert!(
            config(&[("AUTH_JWT_SECRET", KEY), ("AUTH_DATA_KEY", DATA_KEY)])
                .unwrap()
                .check_keys()
                .is_ok()
        );
        let short = config(&[("AUTH_JWT_SECRET", "short"), ("AUTH_DATA_KEY", DATA_KEY)])
            .unwrap()
            .check_keys()
            .unwrap_err();
        assert!(
            short
                .to_string()
                .contains("AUTH_JWT_SECRET is too short: 5 bytes"),
            "{short}"
        );
        let missing = config(&[("AUTH_JWT_SECRET", KEY)])
            .unwrap()
            .check_keys()
            .unwrap_err();
        assert!(
            missing.to_string().contains("AUTH_DATA_KEY is required"),
            "{missing}"
        );
    }

    #[test]
    fn a_key_of_one_repeated_character_is_refused() {
        let err = config(&[
            ("AUTH_JWT_SECRET", &"a".repeat(64)),
            ("AUTH_DATA_KEY", DATA_KEY),
        ])
        .unwrap()
        .check_keys()
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("AUTH_JWT_SECRET is one character repeated"),
            "{err}"
        );
        let err = config(&[("AUTH_JWT_SECRET", KEY), ("AUTH_DATA_KEY", &"é".repeat(20))])
            .unwrap()
            .check_keys()
            .unwrap_err();
        assert!(err.to_string().contains("AUTH_DATA_KEY"), "{err}");
    }

    #[test]
    fn edges_of_the_bounds_are_legal_and_a_zero_grace_is_strict() {
        let c = config(&[
            ("AUTH_ACCESS_TOKEN_TTL_SECS", "86400"),
            ("AUTH_REFRESH_TOKEN_TTL_SECS", "31536000"),
            ("AUTH_SESSION_MAX_LIFETIME_SECS", "1"),
            ("AUTH_REFRESH_REUSE_GRACE_SECS", "0"),
            ("AUTH_ARGON2_MEMORY_KIB", "1048576"),
        ])
        .unwrap();
        assert!(c.tokens.refresh_reuse_grace.is_zero());
    }

    #[test]
    fn weak_but_legal_values_start_with_a_warning() {
        assert!(config(&[]).unwrap().warnings().is_empty());
        let cheap = config(&[
            ("AUTH_ARGON2_MEMORY_KIB", "64"),
            ("AUTH_ARGON2_ITERATIONS", "1"),
        ])
        .unwrap();
        assert!(cheap.warnings()[0].contains("OWASP"));
        let long = config(&[("AUTH_ACCESS_TOKEN_TTL_SECS", "7200")]).unwrap();
        assert!(long.warnings()[0].contains("AUTH_ACCESS_TOKEN_TTL_SECS"));
    }

    #[test]
    fn ed25519_key_files_need_eddsa_and_an_hs256_secret_is_unused_with_it() {
        let err = config(&[("AUTH_JWT_PRIVATE_KEY_FILE", "/keys/new.pem")]).unwrap_err();
        assert!(
            err.to_string().contains("AUTH_JWT_ALGORITHM=EdDSA"),
            "{err}"
        );
        let err = config(&[("AUTH_JWT_VERIFY_KEY_FILES", "/keys/old.pem")]).unwrap_err();
        assert!(
            err.to_string().contains("AUTH_JWT_VERIFY_KEY_FILES"),
            "{err}"
        );

        let c = config(&[
            ("AUTH_JWT_ALGORITHM", "EdDSA"),
            ("AUTH_JWT_PRIVATE_KEY_FILE", "/keys/new.pem"),
            (
                "AUTH_JWT_VERIFY_KEY_FILES",
                " /keys/old.pem, ,/keys/older.pem ",
            ),
            ("AUTH_JWT_SECRET", KEY),
        ])
        .unwrap();
        let TokenKeySource::EdDsa {
            private_key_file,
            verify_key_files,
        } = &c.tokens.keys
        else {
            panic!("{:?}", c.tokens.keys)
        };
        assert_eq!(
            private_key_file.as_deref(),
            Some(std::path::Path::new("/keys/new.pem"))
        );
        assert_eq!(
            verify_key_files,
            &[
                PathBuf::from("/keys/old.pem"),
                PathBuf::from("/keys/older.pem")
            ]
        );
        assert!(c.warnings()[0].contains("AUTH_JWT_SECRET is set but not used"));
    }

    #[test]
    fn secrets_never_print() {
        let c = config(&[("AUTH_JWT_SECRET", KEY), ("AUTH_DATA_KEY", DATA_KEY)]).unwrap();
        assert!(!format!("{c:?}").contains(KEY));
    }

    #[test]
    fn nonsense_is_refused_with_the_variable_name() {
        for (name, value) in [
            ("AUTH_ACCESS_TOKEN_TTL_SECS", "soon"),
            ("AUTH_ACCESS_TOKEN_TTL_SECS", "0"),
            ("AUTH_LISTEN_ADDR", "not an address"),
            ("AUTH_PASSWORD_MIN_LENGTH", "3"),
            ("AUTH_JWT_ALGORITHM", "none"),
            ("AUTH_REQUIRE_VERIFIED_EMAIL", "maybe"),
            ("AUTH_ACCESS_TOKEN_TTL_SECS", "86401"),
            ("AUTH_REFRESH_TOKEN_TTL_SECS", "31536001"),
            ("AUTH_SESSION_MAX_LIFETIME_SECS", "0"),
            ("AUTH_REFRESH_REUSE_GRACE_SECS", "61"),
            ("AUTH_ARGON2_MEMORY_KIB", "1048577"),
            ("AUTH_ARGON2_ITERATIONS", "0"),
            ("AUTH_AUDIT_RETENTION_DAYS", "0"),
            ("AUTH_LOGIN_MAX_FAILURES", "0"),
            ("AUTH_LOGIN_LOCKOUT_SECS", "901"),
            ("AUTH_RATE_LIMIT_PER_MIN", "lots"),
            ("AUTH_TRUSTED_PROXIES", "10.0.0.0/8, the load balancer"),
            ("AUTH_ADMIN_EMAIL", "not an address"),
            ("AUTH_CORS_ORIGINS", "https://app.example.com, *"),
            ("AUTH_CORS_ORIGINS", "https://app.example.com/path"),
            ("AUTH_PUBLIC_URL", "example.com"),
            ("AUTH_HIBP_URL", "api.pwnedpasswords.com"),
            ("AUTH_MAIL_FROM", "not an address"),
            ("AUTH_LOG_FORMAT", "xml"),
            ("AUTH_SMTP_TIMEOUT_SECS", "3601"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("AUTH_MAIL_POLL_MS", "0"),
            ("DATABASE_URL", "mysql://localhost/gatehouse"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn the_effective_configuration_shows_every_value_and_no_secret() {
        let c = config(&[
            ("AUTH_JWT_SECRET", KEY),
            ("AUTH_DATA_KEY", DATA_KEY),
            (
                "DATABASE_URL",
                "postgres://app:db-password@db:5432/gatehouse",
            ),
            ("AUTH_SMTP_URL", "smtp://mailer:hunter2@mail:587"),
            ("AUTH_ADMIN_EMAIL", "root@example.com"),
            ("AUTH_ADMIN_PASSWORD", "admin-password-123"),
            ("AUTH_ACCESS_TOKEN_TTL_SECS", "600"),
        ])
        .unwrap();
        let shown: std::collections::HashMap<_, _> = c.effective.iter().cloned().collect();
        assert_eq!(shown["AUTH_ACCESS_TOKEN_TTL_SECS"], "600");
        assert_eq!(
            shown["AUTH_REFRESH_TOKEN_TTL_SECS"], "604800",
            "defaults too"
        );
        assert_eq!(shown["AUTH_JWT_SECRET"], "<redacted>");
        assert_eq!(shown["AUTH_DATA_KEY"], "<redacted>");
        assert_eq!(shown["AUTH_ADMIN_PASSWORD"], "<redacted>");
        assert_eq!(
            shown["DATABASE_URL"],
            "postgres://app:<redacted>@db:5432/gatehouse"
        );
        assert_eq!(shown["AUTH_SMTP_URL"], "smtp://mailer:<redacted>@mail:587");
        let all = format!("{:?}", c.effective);
        for secret in [KEY, "db-password", "hunter2", "admin-password-123"] {
            assert!(!all.contains(secret), "{secret} shown");
        }
        // Every variable the service reads is listed once.
        let mut names: Vec<_> = c.effective.iter().map(|(name, _)| *name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(count >= 40, "{names:?}");
    }
}
