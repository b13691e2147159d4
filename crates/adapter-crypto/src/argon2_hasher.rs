//! Argon2id behind a semaphore. Each hash takes ~19 MiB and a core for
//! ~15 ms, so running them on the executor would stall every request and an
//! unbounded number in flight would exhaust memory. Hashes run on tokio's
//! blocking pool; a semaphore sized to the cores caps how many run at once,
//! and a caller that cannot get a slot within `queue_wait` is told to come
//! back later instead of queueing without bound.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version,
};
use gatehouse_application::ports::{HashError, PasswordHasher, Verified};
use gatehouse_domain::{Password, PasswordHash};
use rand::TryRng;
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// How many hashes may run at once; the number of cores is the natural choice.
    pub max_concurrent: usize,
    /// How long a request may wait for a slot before it is refused.
    pub queue_wait: Duration,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue_wait: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: Params,
    slots: Arc<Semaphore>,
    queue_wait: Duration,
    /// Verified against when the account does not exist, so that the
    /// response takes as long as for a wrong password.
    dummy: PasswordHash,
}

impl Argon2Hasher {
    /// Builds the hasher and its dummy hash (one full hash, so call it at start-up).
    ///
    /// # Errors
    /// When the parameters are outside what Argon2 accepts.
    pub fn new(config: &Argon2Config) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| anyhow!("invalid Argon2 parameters: {e}"))?;
        let dummy = hash_blocking(&params, "gatehouse dummy password for unknown accounts")
            .context("computing the dummy hash")?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
                queue_wait: config.queue_wait,
                dummy,
            }),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Params) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let slot = tokio::time::timeout(
            self.inner.queue_wait,
            Arc::clone(&self.inner.slots).acquire_owned(),
        )
        .await
        .map_err(|_| HashError::Overloaded {
            retry_after: Duration::from_secs(1),
        })?
        .map_err(|e| HashError::Unexpected(e.into()))?;
        let params = self.inner.params.clone();
        tokio::task::spawn_blocking(move || {
            let result = work(&params);
            drop(slot);
            result
        })
        .await
        .map_err(|e| HashError::Unexpected(e.into()))?
        .map_err(HashError::Unexpected)
    }
}

fn argon2id(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &str) -> anyhow::Result<PasswordHash> {
    let mut salt = [0u8; 16];
    rand::rngs::SysRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| anyhow!("OS randomness unavailable: {e}"))?;
    let phc = argon2id(params)
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("argon2 hashing failed: {e}"))?;
    Ok(PasswordHash::new(phc.to_string()))
}

fn needs_rehash(phc: &Phc, wanted: &Params) -> bool {
    let same_params = Params::try_from(phc).is_ok_and(|p| {
        p.m_cost() == wanted.m_cost()
            && p.t_cost() == wanted.t_cost()
            && p.p_cost() == wanted.p_cost()
    });
    phc.algorithm != ARGON2ID_IDENT || phc.version != Some(Version::V0x13.into()) || !same_params
}

fn verify_blocking(params: &Params, password: &str, stored: &PasswordHash) -> Verified {
    // A hash we cannot parse (another algorithm, corruption) cannot match.
    let Ok(phc) = Phc::new(stored.as_str()) else {
        return Verified::Mismatch;
    };
    // The hash's own parameters decide the work; `Argon2::default` reads them from it.
    match Argon2::default().verify_password(password.as_bytes(), &phc) {
        Ok(()) => Verified::Match {
            needs_rehash: needs_rehash(&phc, params),
        },
        Err(_) => Verified::Mismatch,
    }
}

impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        self.run(move |params| hash_blocking(params, password.expose()))
            .await
    }

    async fn verify(
        &self,
        password: Password,
        hash: Option<PasswordHash>,
    ) -> Result<Verified, HashError> {
        let dummy = self.inner.dummy.clone();
        self.run(move |params| {
            Ok(match hash {
                Some(hash) => verify_blocking(params, password.expose(), &hash),
                None => {
                    let _ = verify_blocking(params, password.expose(), &dummy);
                    Verified::Mismatch
                }
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Config {
        Argon2Config {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            queue_wait: Duration::from_millis(200),
        }
    }

    fn pw(s: &str) -> Password {
        Password::presented(s)
    }

    #[tokio::test]
    async fn hashes_in_phc_format_with_argon2id_and_verifies() {
        let hasher = Argon2Hasher::new(&cheap()).unwrap();
        let hash = hasher.hash(pw("a long passphrase")).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=256,t=1,p=1$"),
            "{}",
            hash.as_str()
        );
        assert_eq!(
            hasher
                .verify(pw("a long passphrase"), Some(hash.clone()))
                .await
                .unwrap(),
            Verified::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher
                .verify(pw("another phrase"), Some(hash))
                .await
                .unwrap(),
            Verified::Mismatch
        );
    }

    #[tokio::test]
    async fn salts_differ_between_hashes() {
        let hasher = Argon2Hasher::new(&cheap()).unwrap();
        let a = hasher.hash(pw("same input")).await.unwrap();
        let b = hasher.hash(pw("same input")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unknown_account_is_a_mismatch_even_for_the_dummy_password() {
        let hasher = Argon2Hasher::new(&cheap()).unwrap();
        let verdict = hasher
            .verify(pw("gatehouse dummy password for unknown accounts"), None)
            .await
            .unwrap();
        assert_eq!(verdict, Verified::Mismatch);
    }

    #[tokio::test]
    async fn older_parameters_and_variants_ask_for_a_rehash() {
        let old = Argon2Hasher::new(&Argon2Config {
            memory_kib: 128,
            ..cheap()
        })
        .unwrap();
        let new = Argon2Hasher::new(&cheap()).unwrap();
        let hash = old.hash(pw("upgrade me please")).await.unwrap();
        assert_eq!(
            new.verify(pw("upgrade me please"), Some(hash))
                .await
                .unwrap(),
            Verified::Match { needs_rehash: true }
        );
        let params = Params::new(256, 1, 1, None).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
            .hash_password_with_salt(b"upgrade me please", &[7u8; 16])
            .unwrap()
            .to_string();
        assert_eq!(
            new.verify(pw("upgrade me please"), Some(PasswordHash::new(argon2i)))
                .await
                .unwrap(),
            Verified::Match { needs_rehash: true }
        );
    }

    #[tokio::test]
    async fn garbage_hash_is_a_mismatch_not_an_error() {
        let hasher = Argon2Hasher::new(&cheap()).unwrap();
        let verdict = hasher
            .verify(pw("whatever"), Some(PasswordHash::new("$2b$10$notargon")))
            .await
            .unwrap();
        assert_eq!(verdict, Verified::Mismatch);
    }

    #[tokio::test]
    async fn a_caller_that_cannot_get_a_slot_is_told_overloaded() {
        let hasher = Argon2Hasher::new(&Argon2Config {
            max_concurrent: 1,
            ..cheap()
        })
        .unwrap();
        // Hold the only slot, as a long-running hash would.
        let held = Arc::clone(&hasher.inner.slots)
            .acquire_owned()
            .await
            .unwrap();
        let err = hasher.hash(pw("queued forever")).await.unwrap_err();
        assert!(matches!(err, HashError::Overloaded { .. }), "{err:?}");
        drop(held);
        assert!(hasher.hash(pw("now it fits")).await.is_ok());
    }

    #[test]
    fn rejects_invalid_parameters() {
        assert!(
            Argon2Hasher::new(&Argon2Config {
                memory_kib: 1,
                ..cheap()
            })
            .is_err()
        );
    }
}
