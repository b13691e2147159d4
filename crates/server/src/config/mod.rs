//! Configuration from the environment, with the contract's variable names
//! and defaults, validated once at start with messages that name the
//! variable. One nested value, grouped by what each part configures; every
//! default is written once, where its variable is read. Secrets are wrapped
//! so that no `{:?}` prints them.

mod keys;
mod source;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use gatehouse_adapter_crypto::JwtKeys;
use gatehouse_domain::password::{LOWEST_MIN_LENGTH, MAX_PASSWORD_CHARS};
use gatehouse_domain::{Email, SecretString};
use gatehouse_http_actix::TrustedProxies;

pub use keys::{MIN_SECRET_BYTES, TokenKeySource};
use source::Source;

/// Argon2 memory beyond this is a typo, not a cost.
const MAX_ARGON2_MEMORY_KIB: u32 = 1_048_576;
/// OWASP's recommended minimum for Argon2id (with t=2, p=1).
const OWASP_ARGON2_MEMORY_KIB: u32 = 19_456;

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

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// May hold a password: never logged.
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub query_timeout: Duration,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen_addr: SocketAddr,
    pub trusted_proxies: TrustedProxies,
    /// Exact origins browsers may call from (`AUTH_CORS_ORIGINS`).
    pub cors_origins: Vec<String>,
    /// Requests per minute and client IP on `/v1/auth/*`; 0 is off.
    pub rate_limit_per_min: u32,
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub keys: TokenKeySource,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_idle_ttl: Duration,
    pub session_max_lifetime: Duration,
    pub refresh_reuse_grace: Duration,
}

#[derive(Debug, Clone)]
pub struct PasswordConfig {
    pub min_length: usize,
    /// The Pwned Passwords range API's base (`AUTH_HIBP_URL`); unset: the
    /// bundled list only.
    pub hibp_url: Option<String>,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub argon2_max_concurrent: usize,
    pub argon2_queue_wait: Duration,
}

#[derive(Debug, Clone)]
pub struct AccountConfig {
    pub require_verified_email: bool,
    /// Per account and client network.
    pub login_max_failures: u32,
    /// Per account, across networks.
    pub login_max_failures_global: u32,
    pub login_lockout: Duration,
    /// How old a sign-in may be for operations that need a recent one.
    pub reauth_max_age: Duration,
    /// Write a `token.refreshed` audit event per refresh.
    pub audit_refreshes: bool,
    pub audit_retention_days: u32,
    /// The admin ensured at every start (`AUTH_ADMIN_EMAIL`/`AUTH_ADMIN_PASSWORD`).
    pub admin: Option<(Email, SecretString)>,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The base of links in mails.
    pub public_url: String,
    /// Holds the SMTP password when there is one.
    pub smtp_url: Option<SecretString>,
    pub smtp_timeout: Duration,
    pub from: String,
    pub dir: PathBuf,
    /// The wait after a failed send; it doubles with each further failure.
    pub retry_base: Duration,
    /// How often the sender looks for due mail when the outbox is idle.
    pub poll: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct OperationsConfig {
    /// How often each instance sweeps expired data.
    pub housekeeping_interval: Duration,
    /// Read by the logger before the configuration (it must report
    /// configuration errors); validated here.
    pub log_format: LogFormat,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_source(|name| std::env::var(name).ok())
    }

    pub fn from_source(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let s = Source::new(get);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let database = DatabaseConfig {
            url: s.url(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/gatehouse",
            ),
            max_connections: s.number("DATABASE_MAX_CONNECTIONS", 16)?,
            acquire_timeout: s.millis("DATABASE_ACQUIRE_TIMEOUT_MS", 2_000)?,
            query_timeout: s.millis("DATABASE_QUERY_TIMEOUT_MS", 5_000)?,
            // Below the client's bound, so the server cancels first and the
            // connection stays usable.
            statement_timeout: s.millis("DATABASE_STATEMENT_TIMEOUT_MS", 4_000)?,
            lock_timeout: s.millis("DATABASE_LOCK_TIMEOUT_MS", 2_000)?,
            idle_in_transaction_timeout: s
                .millis("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000)?,
        };
        let listen = s.string("AUTH_LISTEN_ADDR", "127.0.0.1:8080");
        let http = HttpConfig {
            listen_addr: listen
                .parse()
                .with_context(|| format!("AUTH_LISTEN_ADDR must be host:port, got {listen:?}"))?,
            trusted_proxies: TrustedProxies::parse(
                &s.optional("AUTH_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|entry| {
                anyhow::anyhow!(
                    "AUTH_TRUSTED_PROXIES must be comma-separated CIDRs or addresses, got {entry:?}"
                )
            })?,
            cors_origins: cors_origins(&s.optional("AUTH_CORS_ORIGINS").unwrap_or_default())?,
            rate_limit_per_min: s.number("AUTH_RATE_LIMIT_PER_MIN", 300)?,
        };
        let keys = TokenKeySource::read(&s)?;
        let unused =
            if matches!(keys, TokenKeySource::EdDsa { .. }) && s.raw("AUTH_JWT_SECRET").is_some() {
                vec!["AUTH_JWT_SECRET"]
            } else {
                Vec::new()
            };
        let tokens = TokenConfig {
            keys,
            issuer: s.string("AUTH_JWT_ISSUER", "gatehouse"),
            audience: s.string("AUTH_JWT_AUDIENCE", "gatehouse"),
            access_ttl: s.seconds("AUTH_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_idle_ttl: s.seconds("AUTH_REFRESH_TOKEN_TTL_SECS", 604_800)?,
            session_max_lifetime: s.seconds("AUTH_SESSION_MAX_LIFETIME_SECS", 2_592_000)?,
            refresh_reuse_grace: s.seconds("AUTH_REFRESH_REUSE_GRACE_SECS", 10)?,
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
        let passwords = PasswordConfig {
            min_length: s.number("AUTH_PASSWORD_MIN_LENGTH", 8)?,
            hibp_url: s.optional("AUTH_HIBP_URL"),
            argon2_memory_kib: s.number("AUTH_ARGON2_MEMORY_KIB", 19_456)?,
            argon2_iterations: s.number("AUTH_ARGON2_ITERATIONS", 2)?,
            argon2_parallelism: s.number("AUTH_ARGON2_PARALLELISM", 1)?,
            argon2_max_concurrent: s.number("AUTH_ARGON2_MAX_CONCURRENT", cores)?,
            argon2_queue_wait: s.millis("AUTH_ARGON2_QUEUE_WAIT_MS", 3_000)?,
        };
        let accounts = AccountConfig {
            require_verified_email: s.flag("AUTH_REQUIRE_VERIFIED_EMAIL")?,
            login_max_failures: s.number("AUTH_LOGIN_MAX_FAILURES", 5)?,
            login_max_failures_global: s.number("AUTH_LOGIN_MAX_FAILURES_GLOBAL", 100)?,
            login_lockout: s.seconds("AUTH_LOGIN_LOCKOUT_SECS", 60)?,
            reauth_max_age: s.seconds("AUTH_REAUTH_MAX_AGE_SECS", 900)?,
            audit_refreshes: s.flag("AUTH_AUDIT_REFRESHES")?,
            audit_retention_days: s.number("AUTH_AUDIT_RETENTION_DAYS", 365)?,
            admin: match (
                s.optional("AUTH_ADMIN_EMAIL"),
                s.secret("AUTH_ADMIN_PASSWORD"),
            ) {
                (None, None) => None,
                (Some(email), Some(password)) => Some((
                    Email::parse(&email).map_err(|e| anyhow::anyhow!("AUTH_ADMIN_EMAIL: {e}"))?,
                    password,
                )),
                _ => bail!(
                    "AUTH_ADMIN_EMAIL and AUTH_ADMIN_PASSWORD go together: set both or neither"
                ),
            },
        };
        let mail = MailConfig {
            public_url: s.string("AUTH_PUBLIC_URL", "http://127.0.0.1:8080"),
            smtp_url: s.secret_url("AUTH_SMTP_URL"),
            smtp_timeout: s.seconds("AUTH_SMTP_TIMEOUT_SECS", 10)?,
            from: s.string("AUTH_MAIL_FROM", "gatehouse@localhost"),
            dir: PathBuf::from(s.string("AUTH_MAIL_DIR", "./mail")),
            retry_base: s.millis("AUTH_MAIL_RETRY_BASE_MS", 5_000)?,
            poll: s.millis("AUTH_MAIL_POLL_MS", 1_000)?,
        };
        let operations = OperationsConfig {
            housekeeping_interval: s.millis("AUTH_HOUSEKEEPING_INTERVAL_MS", 60_000)?,
            log_format: log_format(&s)?,
        };
        let config = Self {
            database,
            http,
            tokens,
            passwords,
            accounts,
            mail,
            operations,
            data_key,
            data_key_previous,
            unused,
            effective: s.into_effective(),
        };
        config.check_ranges()?;
        Ok(config)
    }

    /// Hard bounds: a value outside them is a mistake, never a choice.
    fn check_ranges(&self) -> anyhow::Result<()> {
        const HOUR: u64 = 3_600;
        const YEAR: u64 = 365 * 24 * HOUR;
        let t = &self.tokens;
        let bounded = [
            ("AUTH_ACCESS_TOKEN_TTL_SECS", t.access_ttl, 1, 24 * HOUR),
            ("AUTH_REFRESH_TOKEN_TTL_SECS", t.refresh_idle_ttl, 1, YEAR),
            (
                "AUTH_SESSION_MAX_LIFETIME_SECS",
                t.session_max_lifetime,
                1,
                YEAR,
            ),
            // 0 is strict: a rotated token is never answered again.
            (
                "AUTH_REFRESH_REUSE_GRACE_SECS",
                t.refresh_reuse_grace,
                0,
                60,
            ),
        ];
        for (name, value, min, max) in bounded {
            let secs = value.as_secs();
            if secs < min || secs > max || (min > 0 && value.is_zero()) {
                bail!("{name} must be between {min} and {max} seconds, got {secs}");
            }
        }
        let p = &self.passwords;
        if !(1..=MAX_ARGON2_MEMORY_KIB).contains(&p.argon2_memory_kib) {
            bail!(
                "AUTH_ARGON2_MEMORY_KIB must be between 1 and {MAX_ARGON2_MEMORY_KIB} (1 GiB), got {}",
                p.argon2_memory_kib
            );
        }
        for (name, value) in [
            ("AUTH_ARGON2_ITERATIONS", p.argon2_iterations),
            ("AUTH_ARGON2_PARALLELISM", p.argon2_parallelism),
        ] {
            if !(1..=64).contains(&value) {
                bail!("{name} must be between 1 and 64, got {value}");
            }
        }
        if p.argon2_max_concurrent == 0 {
            bail!("AUTH_ARGON2_MAX_CONCURRENT must be at least 1");
        }
        if !(LOWEST_MIN_LENGTH..=MAX_PASSWORD_CHARS).contains(&p.min_length) {
            bail!(
                "AUTH_PASSWORD_MIN_LENGTH must be between {LOWEST_MIN_LENGTH} and {MAX_PASSWORD_CHARS}"
            );
        }
        let a = &self.accounts;
        if a.audit_retention_days == 0 {
            bail!("AUTH_AUDIT_RETENTION_DAYS must be at least 1");
        }
        if !(1..=1_000).contains(&a.login_max_failures) {
            bail!(
                "AUTH_LOGIN_MAX_FAILURES must be between 1 and 1000, got {}",
                a.login_max_failures
            );
        }
        if !(1..=100_000).contains(&a.login_max_failures_global) {
            bail!(
                "AUTH_LOGIN_MAX_FAILURES_GLOBAL must be between 1 and 100000, got {}",
                a.login_max_failures_global
            );
        }
        if !(30..=86_400).contains(&a.reauth_max_age.as_secs()) {
            bail!(
                "AUTH_REAUTH_MAX_AGE_SECS must be between 30 and 86400, got {}",
                a.reauth_max_age.as_secs()
            );
        }
        // Doubling stops at 15 minutes, so a first lockout beyond it is a typo.
        if !(1..=900).contains(&a.login_lockout.as_secs()) {
            bail!(
                "AUTH_LOGIN_LOCKOUT_SECS must be between 1 and 900, got {}",
                a.login_lockout.as_secs()
            );
        }
        let d = &self.database;
        for (name, value) in [
            ("DATABASE_ACQUIRE_TIMEOUT_MS", d.acquire_timeout),
            ("DATABASE_QUERY_TIMEOUT_MS", d.query_timeout),
            ("DATABASE_STATEMENT_TIMEOUT_MS", d.statement_timeout),
            ("DATABASE_LOCK_TIMEOUT_MS", d.lock_timeout),
            (
                "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                d.idle_in_transaction_timeout,
            ),
            ("AUTH_SMTP_TIMEOUT_SECS", self.mail.smtp_timeout),
            ("AUTH_MAIL_RETRY_BASE_MS", self.mail.retry_base),
            ("AUTH_MAIL_POLL_MS", self.mail.poll),
            (
                "AUTH_HOUSEKEEPING_INTERVAL_MS",
                self.operations.housekeeping_interval,
            ),
        ] {
            if value.is_zero() {
                bail!("{name} must be greater than 0");
            }
        }
        if d.max_connections == 0 {
            bail!("DATABASE_MAX_CONNECTIONS must be at least 1");
        }
        if crate::store::BackendKind::of_url(&d.url)? == crate::store::BackendKind::Sqlite {
            #[cfg(feature = "sqlite")]
            gatehouse_adapter_sqlite::sqlite_path(&d.url)?;
        }
        if let Some(url) = &p.hibp_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("AUTH_HIBP_URL must start with https:// (or http://), got {url:?}");
        }
        let public_url = &self.mail.public_url;
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("AUTH_PUBLIC_URL must start with http:// or https://, got {public_url:?}");
        }
        crate::mail::parse_from(&self.mail.from)?;
        Ok(())
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

fn log_format<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<LogFormat> {
    // LOG_FORMAT is the older name, still honoured by the logger.
    let legacy = s.raw("LOG_FORMAT");
    let value = s.string("AUTH_LOG_FORMAT", legacy.as_deref().unwrap_or("text"));
    match value.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => bail!("AUTH_LOG_FORMAT must be text or json, got {value:?}"),
    }
}

/// `scheme://host[:port]` each, no path, no wildcard: CORS compares
/// origins exactly.
fn cors_origins(raw: &str) -> anyhow::Result<Vec<String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains(['/', '*', ' ', '?', '#']) => {
                    Ok(origin.to_owned())
                }
                _ => bail!(
                    "AUTH_CORS_ORIGINS must be exact origins like https://app.example.com, got {origin:?}"
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

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
