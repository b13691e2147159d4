//! Argon2id off the executor, with bounded concurrency and bounded memory.
//! Each hash takes ~19 MiB and a core for ~15 ms, so running them on the
//! executor would stall every request and an unbounded number in flight
//! would exhaust memory. Hashes run on a fixed number of hashing threads
//! (sized to the cores), each with its own Argon2 working memory (see
//! `hashing_threads`), and a caller whose hash has not started within
//! `queue_wait` is told to come back later instead of queueing without
//! bound.

use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Params, Version};
use gatehouse_application::ports::{HashError, PasswordHasher, Verified};
use gatehouse_domain::{Password, PasswordHash};
use rand::TryRng;

use crate::argon2_engine::{Computation, WorkingMemory, compute, working_memory};
use crate::hashing_threads::{HashingLoad, HashingThreads};

#[derive(Debug, Clone)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// How many hashes may run at once; the number of cores is the natural choice.
    pub max_concurrent: usize,
    /// How long a hash may wait to start before it is refused.
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
    threads: HashingThreads<WorkingMemory>,
    /// Verified against when the account does not exist, so that the
    /// response takes as long as for a wrong password.
    dummy: PasswordHash,
}

impl Argon2Hasher {
    /// Builds the hasher: starts the hashing threads and computes the dummy
    /// hash (one full hash, so call it at start-up, off the executor).
    ///
    /// # Errors
    /// When the parameters are outside what Argon2 accepts, or no thread
    /// can be started.
    pub fn new(config: &Argon2Config) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| anyhow!("invalid Argon2 parameters: {e}"))?;
        let memory = working_memory(&params)?;
        let dummy = hash_with(
            &params,
            &mut memory(),
            "gatehouse dummy password for unknown accounts",
        )?;
        let threads = HashingThreads::start(config.max_concurrent, memory, config.queue_wait)?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                threads,
                dummy,
            }),
        })
    }

    /// Hashes running and callers queued for a thread (for `/metrics`).
    #[must_use]
    pub fn load(&self) -> HashingLoad {
        self.inner.threads.load()
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Params, &mut WorkingMemory) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let params = self.inner.params.clone();
        self.inner
            .threads
            .run(move |memory| work(&params, memory))
            .await?
            .map_err(HashError::Unexpected)
    }
}

/// Hashes in the thread's memory and formats the PHC string with argon2's
/// types.
fn hash_with(
    params: &Params,
    memory: &mut WorkingMemory,
    password: &str,
) -> anyhow::Result<PasswordHash> {
    let mut salt = [0u8; 16];
    rand::rngs::SysRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| anyhow!("OS randomness unavailable: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let job = Computation {
        algorithm: Algorithm::Argon2id,
        version: Version::V0x13,
        params,
        password: password.as_bytes(),
        salt: &salt,
    };
    compute(memory, params, job, &mut out)?;
    let phc = Phc {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow!("argon2 parameters: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow!("argon2 salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("argon2 output: {e}"))?),
    };
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

/// Recomputes the stored hash's output with its own algorithm, version and
/// parameters in the thread's memory, and compares in constant time
/// (`Output`'s equality is). A hash that needs more memory than a thread has
/// (made with a higher cost than today's) gets a one-off arena; it is
/// upgraded at that login, so it happens once per account.
fn verify_with(
    params: &Params,
    memory: &mut WorkingMemory,
    password: &str,
    stored: &PasswordHash,
) -> Verified {
    // A hash we cannot parse (another algorithm, corruption) cannot match.
    let Ok(phc) = Phc::new(stored.as_str()) else {
        return Verified::Mismatch;
    };
    let matched = recompute(&phc, params, memory, password).is_some_and(|ok| ok);
    if matched {
        Verified::Match {
            needs_rehash: needs_rehash(&phc, params),
        }
    } else {
        Verified::Mismatch
    }
}

fn recompute(
    phc: &Phc,
    own_params: &Params,
    memory: &mut WorkingMemory,
    password: &str,
) -> Option<bool> {
    let algorithm = Algorithm::try_from(phc.algorithm.as_str()).ok()?;
    let version = match phc.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(phc).ok()?;
    let (salt, expected) = (phc.salt.as_ref()?, phc.hash.as_ref()?);
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = out.get_mut(..expected.len())?;
    let job = Computation {
        algorithm,
        version,
        params: &params,
        password: password.as_bytes(),
        salt,
    };
    compute(memory, own_params, job, out).ok()?;
    Some(Output::new(out).ok()? == *expected)
}

impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        self.run(move |params, memory| hash_with(params, memory, password.expose()))
            .await
    }

    async fn verify(
        &self,
        password: Password,
        hash: Option<PasswordHash>,
    ) -> Result<Verified, HashError> {
        let dummy = self.inner.dummy.clone();
        self.run(move |params, memory| {
            Ok(match hash {
                Some(hash) => verify_with(params, memory, password.expose(), &hash),
                None => {
                    let _ = verify_with(params, memory, password.expose(), &dummy);
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
    use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};

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
    async fn our_phc_strings_are_what_argon2_itself_verifies() {
        let hasher = Argon2Hasher::new(&cheap()).unwrap();
        let hash = hasher.hash(pw("interoperable")).await.unwrap();
        let phc = Phc::new(hash.as_str()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"interoperable", &phc)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"something else", &phc)
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_hash_costlier_than_a_thread_s_memory_still_verifies_and_asks_for_a_rehash() {
        let params = Params::new(1024, 1, 1, None).unwrap();
        let costly = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_with_salt(b"made with more memory", &[9u8; 16])
            .unwrap()
            .to_string();
        let hasher = Argon2Hasher::new(&cheap()).unwrap();
        assert_eq!(
            hasher
                .verify(
                    pw("made with more memory"),
                    Some(PasswordHash::new(costly.clone()))
                )
                .await
                .unwrap(),
            Verified::Match { needs_rehash: true }
        );
        assert_eq!(
            hasher
                .verify(pw("not the password"), Some(PasswordHash::new(costly)))
                .await
                .unwrap(),
            Verified::Mismatch
        );
    }

    #[tokio::test]
    async fn each_thread_keeps_one_arena_of_the_configured_size() {
        let config = Argon2Config {
            max_concurrent: 1,
            ..cheap()
        };
        let hasher = Argon2Hasher::new(&config).unwrap();
        let costly = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password_with_salt(b"costly", &[3u8; 16])
        .unwrap()
        .to_string();
        for _ in 0..3 {
            let hash = hasher.hash(pw("kept arena")).await.unwrap();
            hasher.verify(pw("kept arena"), Some(hash)).await.unwrap();
            hasher
                .verify(pw("costly"), Some(PasswordHash::new(costly.clone())))
                .await
                .unwrap();
        }
        let reserved = hasher
            .inner
            .threads
            .run(|memory| memory.reserved_blocks())
            .await
            .unwrap();
        // The arena stayed mapped between hashes (argon2-rust parks it), and
        // the costlier hash did not grow it.
        assert_eq!(
            reserved, config.memory_kib as usize,
            "one arena of m_cost blocks"
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
    async fn a_caller_whose_hash_cannot_start_is_told_overloaded() {
        let hasher = Argon2Hasher::new(&Argon2Config {
            max_concurrent: 1,
            ..cheap()
        })
        .unwrap();
        // Hold the only thread, as a long-running hash would.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (running, is_running) = tokio::sync::oneshot::channel();
        let holder = hasher.clone();
        tokio::spawn(async move {
            holder
                .inner
                .threads
                .run(move |_| {
                    let _ = running.send(());
                    let _ = held.recv();
                })
                .await
        });
        is_running.await.unwrap();
        let err = hasher.hash(pw("queued forever")).await.unwrap_err();
        assert!(matches!(err, HashError::Overloaded { .. }), "{err:?}");
        drop(release);
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
