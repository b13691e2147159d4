//! Building the running service from a `Config`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{HttpServer, web};
use anyhow::Context;
use gatehouse_adapter_crypto::{
    Argon2Config, Argon2Hasher, DataKeyCipher, JwtConfig, JwtIssuer, RandomTokens, TotpCodes,
};
use gatehouse_application::policy::{DeliveryPolicy, RetentionPolicy};
use gatehouse_application::ports::{AttemptRules, Lockout};
use gatehouse_application::use_cases::admin::{EnsureAdmin, Ensured};
use gatehouse_application::{Adapters, AuthPolicy};
use gatehouse_domain::{Password, PasswordRules, SecretString};
use gatehouse_http_actix::{AuthRateLimit, HttpSettings, Jwks, Metrics};

use crate::background::Background;
use crate::breached::{BreachCheck, PwnedPasswords};
use crate::config::Config;
use crate::housekeeper::spawn_housekeeper;
use crate::mail::{EmlFiles, MailCounters, MailTransport, SmtpMailer, spawn_sender};
use crate::metrics::{Pools, register_sampled};
use crate::store::Backend;
use crate::system::SystemClock;

pub type GatehousePorts<S> = Adapters<
    S,
    Argon2Hasher,
    JwtIssuer,
    RandomTokens,
    SystemClock,
    MailTransport,
    DataKeyCipher,
    TotpCodes,
    BreachCheck,
>;

/// Creates the database if missing and applies pending migrations, on
/// the store `DATABASE_URL` names.
pub async fn prepare_database(config: &Config) -> anyhow::Result<()> {
    crate::with_backend!(config, S => prepare::<S>(config).await)
}

async fn prepare<S: Backend>(config: &Config) -> anyhow::Result<()> {
    for version in S::prepare(config).await? {
        tracing::info!(%version, "migration applied");
    }
    Ok(())
}

/// `prepare_database`, waiting for a database that cannot be reached yet
/// (compose and Kubernetes start things in any order): each attempt is
/// logged, and the wait doubles up to 30 s. A bad URL, bad credentials or
/// a failed migration still stop the start at once.
async fn prepare_when_up<S: Backend>(config: &Config) -> anyhow::Result<()> {
    let mut wait = Duration::from_millis(500);
    let mut attempt = 0u32;
    loop {
        attempt = attempt.saturating_add(1);
        match prepare::<S>(config).await {
            Ok(()) => return Ok(()),
            Err(error) if unreachable(&error) => {
                tracing::warn!(
                    attempt,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %format!("{error:#}"),
                    "database unreachable; waiting for it"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether the database is just not there (yet), as opposed to refusing us.
fn unreachable(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}").to_lowercase();
    [
        // tokio-postgres's words for a failed connect (refused, no route,
        // lookup): credentials and URLs fail later, in other words.
        "error connecting to server",
        "connection refused",
        "timed out",
        "connection reset",
        "failed to lookup address",
        "no route to host",
        "network is unreachable",
        "the database system is starting up",
        "the database system is shutting down",
    ]
    .iter()
    .any(|s| text.contains(s))
}

pub async fn build_ports<S: Backend>(config: &Config) -> anyhow::Result<GatehousePorts<S>> {
    config.check_keys()?;
    let p = &config.passwords;
    let argon2 = Argon2Config {
        memory_kib: p.argon2_memory_kib,
        iterations: p.argon2_iterations,
        parallelism: p.argon2_parallelism,
        max_concurrent: p.argon2_max_concurrent,
        queue_wait: p.argon2_queue_wait,
    };
    // Building the hasher computes the dummy hash: keep it off the executor.
    let hasher = tokio::task::spawn_blocking(move || Argon2Hasher::new(&argon2))
        .await
        .context("argon2 set-up task")?
        .context("AUTH_ARGON2_* parameters")?;
    // Requests use the workers' own pools (`for_worker`); this one is for
    // work outside requests (the mail sender), so one connection is its
    // whole budget.
    let store = S::open(config, 1)?;
    let data_key = config
        .data_key
        .clone()
        .unwrap_or_else(|| SecretString::new(""));
    Ok(Adapters {
        store,
        hasher,
        tokens: JwtIssuer::new(&JwtConfig {
            issuer: config.tokens.issuer.clone(),
            audience: config.tokens.audience.clone(),
            keys: config.jwt_keys()?,
        }),
        opaque: RandomTokens,
        clock: SystemClock,
        mailer: mail_transport(config)?,
        cipher: DataKeyCipher::with_previous(&data_key, &config.data_key_previous),
        codes: TotpCodes,
        breached: match &config.passwords.hibp_url {
            Some(url) => BreachCheck::Pwned(PwnedPasswords::start(url)?),
            None => BreachCheck::BundledOnly,
        },
        policy: AuthPolicy {
            access_token_ttl: config.tokens.access_ttl,
            refresh_token_idle_ttl: config.tokens.refresh_idle_ttl,
            session_max_lifetime: config.tokens.session_max_lifetime,
            refresh_reuse_grace: config.tokens.refresh_reuse_grace,
            password_rules: PasswordRules {
                min_length: config.passwords.min_length,
            },
            require_verified_email: config.accounts.require_verified_email,
            reauth_max_age: config.accounts.reauth_max_age,
            audit_refreshes: config.accounts.audit_refreshes,
            lockout: AttemptRules {
                per_network: Lockout {
                    max_failures: config.accounts.login_max_failures,
                    first: config.accounts.login_lockout,
                    longest: Duration::from_secs(15 * 60),
                },
                per_account: Lockout {
                    max_failures: config.accounts.login_max_failures_global,
                    first: config.accounts.login_lockout,
                    longest: Duration::from_secs(15 * 60),
                },
            },
            retention: RetentionPolicy {
                audit_events: Duration::from_secs(
                    u64::from(config.accounts.audit_retention_days) * 24 * 3_600,
                ),
                ..RetentionPolicy::default()
            },
            public_url: config.mail.public_url.trim_end_matches('/').to_owned(),
            totp_issuer: config.tokens.issuer.clone(),
            mail_delivery: DeliveryPolicy {
                first_retry: config.mail.retry_base,
                // No attempt starts after half the lease, and one attempt
                // takes at most about ten SMTP steps (connect, greeting,
                // EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, body, QUIT), each
                // bounded by the timeout: so none outlives its lease.
                lease: DeliveryPolicy::default()
                    .lease
                    .max(config.mail.smtp_timeout.saturating_mul(20)),
                ..DeliveryPolicy::default()
            },
        },
    })
}

/// `AUTH_ADMIN_EMAIL`/`AUTH_ADMIN_PASSWORD`: make sure this admin exists.
async fn ensure_admin<S: Backend>(
    ports: &GatehousePorts<S>,
    config: &Config,
) -> anyhow::Result<()> {
    let Some((email, password)) = &config.accounts.admin else {
        return Ok(());
    };
    let ensured = EnsureAdmin::new(ports)
        .execute(email.clone(), &Password::presented(password.expose()))
        .await
        .context("ensuring the admin of AUTH_ADMIN_EMAIL")?;
    if ensured == Ensured::NotPromoted {
        tracing::error!(
            email = %email.masked(),
            "AUTH_ADMIN_EMAIL names an existing account whose password is not AUTH_ADMIN_PASSWORD: \
             it was not made an admin (sign in as it and change the password, or promote it with the admin API)"
        );
    } else {
        tracing::info!(email = %email.masked(), outcome = ?ensured, "admin ensured");
    }
    Ok(())
}

fn mail_transport(config: &Config) -> anyhow::Result<MailTransport> {
    let mail = &config.mail;
    let from = crate::mail::parse_from(&mail.from)?;
    Ok(match &mail.smtp_url {
        Some(url) => MailTransport::Smtp(SmtpMailer::new(url, from, mail.smtp_timeout)?),
        None => {
            tracing::info!(dir = %mail.dir.display(), "no AUTH_SMTP_URL: mails are written as .eml files");
            MailTransport::Files(EmlFiles::new(mail.dir.clone(), from))
        }
    })
}

/// How many actix workers serve requests: one per core.
fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A worker's ports: its own store where the backend wants one (see
/// [`Backend::for_worker`]); everything else, the hasher's threads above
/// all, stays shared by the whole process.
fn for_worker<S: Backend>(
    base: &GatehousePorts<S>,
    config: &Config,
    workers: usize,
) -> (GatehousePorts<S>, bool) {
    match base.store.for_worker(config, workers) {
        Some(store) => (
            Adapters {
                store,
                ..base.clone()
            },
            true,
        ),
        None => (base.clone(), false),
    }
}

/// A bound, not yet running, HTTP server, and the mail sender beside it.
pub struct Application {
    port: u16,
    server: Server,
    background: Vec<Background>,
    mail_counters: Arc<MailCounters>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Prepares the database, wires the adapters and binds the listener,
    /// on the store `DATABASE_URL` names.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        crate::with_backend!(config, S => Self::build_on::<S>(config).await)
    }

    async fn build_on<S: Backend>(config: &Config) -> anyhow::Result<Self> {
        config.check_keys()?;
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        prepare_when_up::<S>(config).await?;
        tracing::info!("{}", S::describe(config));
        let base = build_ports::<S>(config).await?;
        ensure_admin(&base, config).await?;
        let openapi = Arc::new(gatehouse_http_actix::openapi_json());
        let listen_addr = config.http.listen_addr;
        let listener = TcpListener::bind(listen_addr)
            .with_context(|| format!("binding AUTH_LISTEN_ADDR {listen_addr}"))?;
        let port = listener.local_addr()?.port();
        let workers = worker_count();
        let mail_counters = Arc::new(MailCounters::default());
        let metrics = Metrics::new().context("setting up metrics")?;
        let pools = Pools::default();
        pools.add(base.store.clone());
        register_sampled(
            metrics.registry(),
            base.hasher.clone(),
            pools.clone(),
            Arc::clone(&mail_counters),
        )
        .context("setting up metrics")?;
        let shared = Arc::new(base.clone());
        let http = HttpSettings {
            trusted_proxies: config.http.trusted_proxies.clone(),
            auth_rate_limit: AuthRateLimit::per_minute(config.http.rate_limit_per_min),
            cors_origins: config.http.cors_origins.clone(),
            jwks: Jwks::new(
                serde_json::to_string(base.tokens.jwks()).context("serialising the JWKS")?,
            ),
            metrics,
        };
        let mut background = vec![
            spawn_sender(
                Arc::clone(&shared),
                Arc::clone(&mail_counters),
                config.mail.poll,
            ),
            spawn_housekeeper(shared, config.operations.housekeeping_interval),
        ];
        if let Some(limit) = http.auth_rate_limit.clone() {
            background.push(Background::spawn(Duration::from_secs(60), move || {
                limit.forget_idle();
                std::future::ready(false)
            }));
        }
        let config = config.clone();
        let server = HttpServer::new(move || {
            let (ports, own_store) = for_worker(&base, &config, workers);
            if own_store {
                pools.add(ports.store.clone());
            }
            let ports = web::Data::new(ports);
            gatehouse_http_actix::build_app(ports, Arc::clone(&openapi), http.clone())
        })
        .workers(workers)
        .listen(listener)?
        // In-flight requests get this long to finish after SIGTERM/SIGINT.
        .shutdown_timeout(30)
        .run();
        Ok(Self {
            port,
            server,
            background,
            mail_counters,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Mails sent and given up so far by this instance.
    pub fn mail_counters(&self) -> Arc<MailCounters> {
        Arc::clone(&self.mail_counters)
    }

    /// Serves until a stop signal (SIGTERM, SIGINT) or `handle().stop()`,
    /// then lets the mail sender finish the pass it is in.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        // The pass in progress may finish a send; a mail cut off is only
        // delayed (its lease holds it), and the process must not linger.
        for task in self.background {
            task.stop(std::time::Duration::from_secs(5)).await;
        }
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max: &str) -> Config {
        Config::from_source(|name| (name == "DATABASE_MAX_CONNECTIONS").then(|| max.to_owned()))
            .unwrap()
    }

    #[test]
    fn only_an_absent_database_is_waited_for() {
        for text in [
            "ensuring the database exists: connecting to DATABASE_URL: error connecting to server",
            "connecting to DATABASE_URL timed out",
            "db error: FATAL: the database system is starting up",
        ] {
            assert!(unreachable(&anyhow::anyhow!("{text}")), "{text}");
        }
        for text in [
            "db error: FATAL: password authentication failed for user \"gatehouse\"",
            "DATABASE_URL names no database",
            "applying migrations: relation already exists",
        ] {
            assert!(!unreachable(&anyhow::anyhow!("{text}")), "{text}");
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn the_workers_share_the_budget_and_each_gets_at_least_one() {
        for (max, workers, share) in [("16", 2, 8), ("16", 3, 5), ("16", 64, 1), ("1", 4, 1)] {
            assert_eq!(
                crate::store::worker_share(&config(max), workers),
                share,
                "{max} over {workers}"
            );
        }
    }
}
