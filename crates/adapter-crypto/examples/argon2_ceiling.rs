//! Argon2id as Gatehouse computes it (argon2-rust) for `just bench`:
//! hashes per second with one thread per core, each with its own working
//! memory, at the given cost. `just bench` sets it beside other
//! implementations' rates (bench/argon2) and takes the fastest as the
//! ceiling for login and registration.
//!
//! Usage: `argon2_ceiling SECONDS [MEMORY_KIB ITERATIONS PARALLELISM]`.
//! Prints one line: `argon2_hashes_per_sec <rate>`.

// The figure on stdout is this program's whole purpose.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use argon2_rust::params::Memory;
use argon2_rust::{Algorithm, Argon2, Params, Version};

fn arg(n: usize, default: u32) -> anyhow::Result<u32> {
    std::env::args().nth(n).map_or(Ok(default), |v| {
        v.parse().with_context(|| format!("argument {n}: {v}"))
    })
}

fn main() -> anyhow::Result<()> {
    let seconds = arg(1, 5)?;
    let params = Params::builder()
        .memory(Memory::kib(u64::from(arg(2, 19_456)?)))
        .passes(arg(3, 2)?)
        .lanes(arg(4, 1)?)
        .build()
        .map_err(|e| anyhow!("parameters: {e}"))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let until = Instant::now() + Duration::from_secs(u64::from(seconds));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            std::thread::spawn(move || {
                let mut hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hasher();
                let salt = [i as u8; 16];
                let mut out = [0u8; 32];
                let mut done = 0u64;
                while Instant::now() < until {
                    hasher
                        .hash_into(b"ceiling password", &salt, &mut out)
                        .map_err(|e| anyhow!("argon2: {e}"))?;
                    done += 1;
                }
                Ok::<u64, anyhow::Error>(done)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.join().map_err(|_| anyhow!("worker panicked"))??;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!("argon2_hashes_per_sec {rate:.1}");
    Ok(())
}
