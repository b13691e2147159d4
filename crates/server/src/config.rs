//! Configuration from the environment, with the contract's variable names
//! and defaults, validated once at start with messages an operator can act
//! on. Secrets are wrapped so that no `{:?}` prints them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use gatehouse_adapter_crypto::{Ed25519PublicKey, Ed25519SigningKey, JwtKeys};
use gatehouse_domain::SecretString;
use gatehouse_domain::password::{LOWEST_MIN_LENGTH, MAX_PASSWORD_CHARS};

/// Key material shorter than this is refused (HS256 and the data key).
pub const MIN_SECRET_BYTES: usize = 32;

/// Argon2 memory beyond this is a typo, not a cost.
const MAX_ARGON2_MEMORY_KIB: u32 = 1_048_576;
/// OWASP's recommended minimum for Argon2id (with t=2, p=1).
const OWASP_ARGON2_MEMORY_KIB: u32 = 19_456;

/// Where the access-token keys come from (`AUTH_JWT_ALGORITHM` and the
/// variables of that algorithm). Files are read by `jwt_keys`, at start of
/// `serve`, so `migrate` needs none of them.
#[derive(Clone)]
pub enum TokenKeySource {
    Hs256 {
        secret: Option<SecretString>,
    },
    EdDsa {
        private_key_file: Option<PathBuf>,
        verify_key_files: Vec<PathBuf>,
    },
}

impl std::fmt::Debug for TokenKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hs256 { secret } => f
                .debug_struct("Hs256")
                .field("secret", &secret.as_ref().map(|_| "<redacted>"))
                .finish(),
            Self::EdDsa {
                private_key_file,
                verify_key_files,
            } => f
                .debug_struct("EdDsa")
                .field("private_key_file", private_key_file)
                .field("verify_key_files", verify_key_files)
                .finish(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub database_max_connections: u32,
    pub database_acquire_timeout: Duration,
    pub database_query_timeout: Duration,
    pub database_statement_timeout: Duration,
    pub database_lock_timeout: Duration,
    pub database_idle_in_transaction_timeout: Duration,
    pub listen_addr: SocketAddr,
    pub jwt_keys: TokenKeySource,
    /// Variables that are set but mean nothing in this configuration.
    pub unused: Vec<&'static str>,
    pub data_key: Option<SecretString>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub session_max_lifetime: Duration,
    pub refresh_reuse_grace: Duration,
    pub password_min_length: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub argon2_max_concurrent: usize,
    pub argon2_queue_wait: Duration,
    pub public_url: String,
    pub require_verified_email: bool,
    pub audit_retention_days: u32,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    /// Requests per minute and client IP on `/v1/auth/*`; 0 is off.
    pub rate_limit_per_min: u32,
    pub trusted_proxies: gatehouse_http_actix::TrustedProxies,
    /// Exact origins browsers may call from (`AUTH_CORS_ORIGINS`).
    pub cors_origins: Vec<String>,
    /// The admin ensured at every start (`AUTH_ADMIN_EMAIL`/`AUTH_ADMIN_PASSWORD`).
    pub admin: Option<(gatehouse_domain::Email, SecretString)>,
    /// How often each instance sweeps expired data.
    pub housekeeping_interval: Duration,
    /// Holds the SMTP password when there is one.
    pub smtp_url: Option<SecretString>,
    pub smtp_timeout: Duration,
    pub mail_from: String,
    pub mail_dir: PathBuf,
    /// The wait after a failed send; it doubles with each further failure.
    pub mail_retry_base: Duration,
    /// How often the sender looks for due mail when the outbox is idle.
    pub mail_poll: Duration,
}

/// Reads variables through `get`, so tests can pass a map instead of the
/// process environment.
struct Source<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Source<F> {
    fn string(&self, name: &str, default: &str) -> String {
        self.0(name)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_owned())
    }

    fn secret(&self, name: &str) -> Option<SecretString> {
        self.0(name)
            .filter(|v| !v.is_empty())
            .map(SecretString::new)
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.0(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{name} must be a whole number, got {raw:?}")),
        }
    }

    fn flag(&self, name: &str) -> anyhow::Result<bool> {
        match self.0(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "false" | "0" | "no" | "off") => Ok(false),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some(other) => bail!("{name} must be true or false, got {other:?}"),
        }
    }

    fn seconds(&self, name: &str, default: u64) -> anyhow::Result<Duration> {
        self.number(name, default).map(Duration::from_secs)
    }

    fn millis(&self, name: &str, default: u64) -> anyhow::Result<Duration> {
        self.number(name, default).map(Duration::from_millis)
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_source(|name| std::env::var(name).ok())
    }

    pub fn from_source(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let s = Source(get);
        let listen = s.string("AUTH_LISTEN_ADDR", "127.0.0.1:8080");
        let jwt_keys = token_key_source(&s)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let config = Self {
            database_url: s.string(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/gatehouse",
            ),
            database_max_connections: s.number("DATABASE_MAX_CONNECTIONS", 16)?,
            database_acquire_timeout: s.millis("DATABASE_ACQUIRE_TIMEOUT_MS", 2_000)?,
            database_query_timeout: s.millis("DATABASE_QUERY_TIMEOUT_MS", 5_000)?,
            // Below the client's bound, so the server cancels first and the
            // connection stays usable.
            database_statement_timeout: s.millis("DATABASE_STATEMENT_TIMEOUT_MS", 4_000)?,
            database_lock_timeout: s.millis("DATABASE_LOCK_TIMEOUT_MS", 2_000)?,
            database_idle_in_transaction_timeout: s
                .millis("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000)?,
            listen_addr: listen
                .parse()
                .with_context(|| format!("AUTH_LISTEN_ADDR must be host:port, got {listen:?}"))?,
            unused: if matches!(jwt_keys, TokenKeySource::EdDsa { .. })
                && s.secret("AUTH_JWT_SECRET").is_some()
            {
                vec!["AUTH_JWT_SECRET"]
            } else {
                Vec::new()
            },
            jwt_keys,
            data_key: s.secret("AUTH_DATA_KEY"),
            jwt_issuer: s.string("AUTH_JWT_ISSUER", "gatehouse"),
            jwt_audience: s.string("AUTH_JWT_AUDIENCE", "gatehouse"),
            access_token_ttl: s.seconds("AUTH_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl: s.seconds("AUTH_REFRESH_TOKEN_TTL_SECS", 604_800)?,
            session_max_lifetime: s.seconds("AUTH_SESSION_MAX_LIFETIME_SECS", 2_592_000)?,
            refresh_reuse_grace: s.seconds("AUTH_REFRESH_REUSE_GRACE_SECS", 10)?,
            password_min_length: s.number("AUTH_PASSWORD_MIN_LENGTH", 8)?,
            argon2_memory_kib: s.number("AUTH_ARGON2_MEMORY_KIB", 19_456)?,
            argon2_iterations: s.number("AUTH_ARGON2_ITERATIONS", 2)?,
            argon2_parallelism: s.number("AUTH_ARGON2_PARALLELISM", 1)?,
            argon2_max_concurrent: s.number("AUTH_ARGON2_MAX_CONCURRENT", cores)?,
            argon2_queue_wait: s.millis("AUTH_ARGON2_QUEUE_WAIT_MS", 3_000)?,
            public_url: s.string("AUTH_PUBLIC_URL", "http://127.0.0.1:8080"),
            require_verified_email: s.flag("AUTH_REQUIRE_VERIFIED_EMAIL")?,
            audit_retention_days: s.number("AUTH_AUDIT_RETENTION_DAYS", 365)?,
            login_max_failures: s.number("AUTH_LOGIN_MAX_FAILURES", 5)?,
            login_lockout: s.seconds("AUTH_LOGIN_LOCKOUT_SECS", 60)?,
            rate_limit_per_min: s.number("AUTH_RATE_LIMIT_PER_MIN", 300)?,
            cors_origins: cors_origins(&s.string("AUTH_CORS_ORIGINS", ""))?,
            admin: match (
                s.0("AUTH_ADMIN_EMAIL").filter(|v| !v.trim().is_empty()),
                s.secret("AUTH_ADMIN_PASSWORD"),
            ) {
                (None, None) => None,
                (Some(email), Some(password)) => Some((
                    gatehouse_domain::Email::parse(&email)
                        .map_err(|e| anyhow::anyhow!("AUTH_ADMIN_EMAIL: {e}"))?,
                    password,
                )),
                _ => bail!(
                    "AUTH_ADMIN_EMAIL and AUTH_ADMIN_PASSWORD go together: set both or neither"
                ),
            },
            trusted_proxies: gatehouse_http_actix::TrustedProxies::parse(
                &s.string("AUTH_TRUSTED_PROXIES", ""),
            )
            .map_err(|entry| {
                anyhow::anyhow!(
                    "AUTH_TRUSTED_PROXIES must be comma-separated CIDRs or addresses, got {entry:?}"
                )
            })?,
            housekeeping_interval: s.millis("AUTH_HOUSEKEEPING_INTERVAL_MS", 60_000)?,
            smtp_url: s.secret("AUTH_SMTP_URL"),
            smtp_timeout: s.seconds("AUTH_SMTP_TIMEOUT_SECS", 10)?,
            mail_from: s.string("AUTH_MAIL_FROM", "gatehouse@localhost"),
            mail_dir: PathBuf::from(s.string("AUTH_MAIL_DIR", "./mail")),
            mail_retry_base: s.millis("AUTH_MAIL_RETRY_BASE_MS", 5_000)?,
            mail_poll: s.millis("AUTH_MAIL_POLL_MS", 1_000)?,
        };
        config.check_ranges()?;
        Ok(config)
    }

    /// Hard bounds: a value outside them is a mistake, never a choice.
    fn check_ranges(&self) -> anyhow::Result<()> {
        const HOUR: u64 = 3_600;
        const YEAR: u64 = 365 * 24 * HOUR;
        let bounded = [
            (
                "AUTH_ACCESS_TOKEN_TTL_SECS",
                self.access_token_ttl,
                1,
                24 * HOUR,
            ),
            (
                "AUTH_REFRESH_TOKEN_TTL_SECS",
                self.refresh_token_ttl,
                1,
                YEAR,
            ),
            (
                "AUTH_SESSION_MAX_LIFETIME_SECS",
                self.session_max_lifetime,
                1,
                YEAR,
            ),
            // 0 is strict: a rotated token is never answered again.
            (
                "AUTH_REFRESH_REUSE_GRACE_SECS",
                self.refresh_reuse_grace,
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
        if !(1..=MAX_ARGON2_MEMORY_KIB).contains(&self.argon2_memory_kib) {
            bail!(
                "AUTH_ARGON2_MEMORY_KIB must be between 1 and {MAX_ARGON2_MEMORY_KIB} (1 GiB), got {}",
                self.argon2_memory_kib
            );
        }
        for (name, value) in [
            ("AUTH_ARGON2_ITERATIONS", self.argon2_iterations),
            ("AUTH_ARGON2_PARALLELISM", self.argon2_parallelism),
        ] {
            if !(1..=64).contains(&value) {
                bail!("{name} must be between 1 and 64, got {value}");
            }
        }
        if self.audit_retention_days == 0 {
            bail!("AUTH_AUDIT_RETENTION_DAYS must be at least 1");
        }
        if !(1..=1_000).contains(&self.login_max_failures) {
            bail!(
                "AUTH_LOGIN_MAX_FAILURES must be between 1 and 1000, got {}",
                self.login_max_failures
            );
        }
        // Doubling stops at 15 minutes, so a first lockout beyond it is a typo.
        if !(1..=900).contains(&self.login_lockout.as_secs()) {
            bail!(
                "AUTH_LOGIN_LOCKOUT_SECS must be between 1 and 900, got {}",
                self.login_lockout.as_secs()
            );
        }
        if !(LOWEST_MIN_LENGTH..=MAX_PASSWORD_CHARS).contains(&self.password_min_length) {
            bail!(
                "AUTH_PASSWORD_MIN_LENGTH must be between {LOWEST_MIN_LENGTH} and {MAX_PASSWORD_CHARS}"
            );
        }
        if self.argon2_max_concurrent == 0 {
            bail!("AUTH_ARGON2_MAX_CONCURRENT must be at least 1");
        }
        for (name, value) in [
            ("DATABASE_ACQUIRE_TIMEOUT_MS", self.database_acquire_timeout),
            ("DATABASE_QUERY_TIMEOUT_MS", self.database_query_timeout),
            (
                "DATABASE_STATEMENT_TIMEOUT_MS",
                self.database_statement_timeout,
            ),
            ("DATABASE_LOCK_TIMEOUT_MS", self.database_lock_timeout),
            (
                "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                self.database_idle_in_transaction_timeout,
            ),
            ("AUTH_SMTP_TIMEOUT_SECS", self.smtp_timeout),
            ("AUTH_MAIL_RETRY_BASE_MS", self.mail_retry_base),
            ("AUTH_MAIL_POLL_MS", self.mail_poll),
            ("AUTH_HOUSEKEEPING_INTERVAL_MS", self.housekeeping_interval),
        ] {
            if value.is_zero() {
                bail!("{name} must be greater than 0");
            }
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            bail!(
                "AUTH_PUBLIC_URL must start with http:// or https://, got {:?}",
                self.public_url
            );
        }
        crate::mail::parse_from(&self.mail_from)?;
        if self.database_max_connections == 0 {
            bail!("DATABASE_MAX_CONNECTIONS must be at least 1");
        }
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
        if self.argon2_memory_kib < OWASP_ARGON2_MEMORY_KIB || self.argon2_iterations < 2 {
            warnings.push(format!(
                "Argon2 cost m={} KiB t={} is below the OWASP minimum (m=19456 KiB, t=2): \
                 passwords are cheaper to guess from a stolen database",
                self.argon2_memory_kib, self.argon2_iterations
            ));
        }
        if self.access_token_ttl > Duration::from_secs(3_600) {
            warnings.push(format!(
                "AUTH_ACCESS_TOKEN_TTL_SECS={} is over an hour: other services accept a revoked \
                 session's access tokens until they expire",
                self.access_token_ttl.as_secs()
            ));
        }
        warnings
    }

    /// What `serve` needs beyond what `migrate` does: the keys.
    pub fn check_keys(&self) -> anyhow::Result<()> {
        self.jwt_keys()?;
        check_secret(
            "AUTH_DATA_KEY",
            self.data_key.as_ref(),
            "to encrypt secrets at rest",
        )
    }

    /// The access-token keys, files read and parsed, each failure naming
    /// its variable and file.
    pub fn jwt_keys(&self) -> anyhow::Result<JwtKeys> {
        match &self.jwt_keys {
            TokenKeySource::Hs256 { secret } => {
                check_secret(
                    "AUTH_JWT_SECRET",
                    secret.as_ref(),
                    "with AUTH_JWT_ALGORITHM=HS256",
                )?;
                Ok(JwtKeys::Hs256(
                    secret.clone().unwrap_or_else(|| SecretString::new("")),
                ))
            }
            TokenKeySource::EdDsa {
                private_key_file,
                verify_key_files,
            } => {
                let Some(path) = private_key_file else {
                    bail!(
                        "AUTH_JWT_PRIVATE_KEY_FILE is required with AUTH_JWT_ALGORITHM=EdDSA: \
                         make one with `gatehouse keys generate > key.pem`"
                    );
                };
                let signing = Ed25519SigningKey::from_pem(
                    read_key_file("AUTH_JWT_PRIVATE_KEY_FILE", path)?.expose(),
                )
                .map_err(|e| {
                    anyhow::anyhow!("AUTH_JWT_PRIVATE_KEY_FILE {}: {e}", path.display())
                })?;
                let also_accepted = verify_key_files
                    .iter()
                    .map(|path| {
                        Ed25519PublicKey::from_pem(
                            read_key_file("AUTH_JWT_VERIFY_KEY_FILES", path)?.expose(),
                        )
                        .map_err(|e| {
                            anyhow::anyhow!("AUTH_JWT_VERIFY_KEY_FILES {}: {e}", path.display())
                        })
                    })
                    .collect::<anyhow::Result<_>>()?;
                Ok(JwtKeys::Ed25519 {
                    signing,
                    also_accepted,
                })
            }
        }
    }
}

fn token_key_source<F: Fn(&str) -> Option<String>>(
    s: &Source<F>,
) -> anyhow::Result<TokenKeySource> {
    let private_key_file = s.0("AUTH_JWT_PRIVATE_KEY_FILE")
        .filter(|v| !v.trim().is_empty())
        .map(|v| PathBuf::from(v.trim()));
    let verify_key_files: Vec<PathBuf> = s
        .string("AUTH_JWT_VERIFY_KEY_FILES", "")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    match s.string("AUTH_JWT_ALGORITHM", "HS256").as_str() {
        "HS256" => {
            if private_key_file.is_some() || !verify_key_files.is_empty() {
                bail!(
                    "AUTH_JWT_PRIVATE_KEY_FILE and AUTH_JWT_VERIFY_KEY_FILES are Ed25519 keys: \
                     set AUTH_JWT_ALGORITHM=EdDSA to use them, or unset them for HS256"
                );
            }
            Ok(TokenKeySource::Hs256 {
                secret: s.secret("AUTH_JWT_SECRET"),
            })
        }
        "EdDSA" => Ok(TokenKeySource::EdDsa {
            private_key_file,
            verify_key_files,
        }),
        other => bail!("AUTH_JWT_ALGORITHM must be HS256 or EdDSA, got {other:?}"),
    }
}

/// A key file's text; its content never reaches an error message.
fn read_key_file(variable: &str, path: &std::path::Path) -> anyhow::Result<SecretString> {
    std::fs::read_to_string(path)
        .map(SecretString::new)
        .with_context(|| format!("{variable}: reading {}", path.display()))
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

fn check_secret(name: &str, value: Option<&SecretString>, why: &str) -> anyhow::Result<()> {
    match value {
        None => bail!(
            "{name} is required {why}: set it to at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -base64 48`)"
        ),
        Some(v) if v.expose().len() < MIN_SECRET_BYTES => bail!(
            "{name} is too short: {} bytes, at least {MIN_SECRET_BYTES} are required (e.g. `openssl rand -base64 48`)",
            v.expose().len()
        ),
        Some(v)
            if v.expose()
                .chars()
                .skip(1)
                .all(|c| v.expose().starts_with(c)) =>
        {
            bail!(
                "{name} is one character repeated, which is no secret: use random bytes (e.g. `openssl rand -base64 48`)"
            )
        }
        Some(_) => Ok(()),
    }
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

    #[test]
    fn defaults_follow_the_contract() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.database_url,
            "postgres://postgres@127.0.0.1:5432/gatehouse"
        );
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_token_ttl, Duration::from_secs(604_800));
        assert_eq!(c.session_max_lifetime, Duration::from_secs(2_592_000));
        assert_eq!(c.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(
            (
                c.argon2_memory_kib,
                c.argon2_iterations,
                c.argon2_parallelism
            ),
            (19_456, 2, 1)
        );
        assert_eq!(c.password_min_length, 8);
        assert!(matches!(c.jwt_keys, TokenKeySource::Hs256 { secret: None }));
        assert_eq!(
            (c.jwt_issuer.as_str(), c.jwt_audience.as_str()),
            ("gatehouse", "gatehouse")
        );
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(!c.require_verified_email);
        assert!(c.smtp_url.is_none());
        assert_eq!(c.mail_from, "gatehouse@localhost");
        assert_eq!(c.mail_dir, PathBuf::from("./mail"));
    }

    #[test]
    fn the_smtp_password_never_prints() {
        let c = config(&[("AUTH_SMTP_URL", "smtp://user:hunter2@mail:587")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn serve_needs_both_keys_of_32_bytes() {
        assert!(
            config(&[("AUTH_JWT_SECRET", KEY), ("AUTH_DATA_KEY", KEY)])
                .unwrap()
                .check_keys()
                .is_ok()
        );
        let short = config(&[("AUTH_JWT_SECRET", "short"), ("AUTH_DATA_KEY", KEY)])
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
        let err = config(&[("AUTH_JWT_SECRET", &"a".repeat(64)), ("AUTH_DATA_KEY", KEY)])
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
        assert!(c.refresh_reuse_grace.is_zero());
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
        } = &c.jwt_keys
        else {
            panic!("{:?}", c.jwt_keys)
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
        let c = config(&[("AUTH_JWT_SECRET", KEY), ("AUTH_DATA_KEY", KEY)]).unwrap();
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
            ("AUTH_MAIL_FROM", "not an address"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }
}
