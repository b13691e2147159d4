//! Hashing must not allocate per call: each slot owns its working memory
//! (an arena argon2-rust maps outside the heap and keeps; the unit tests
//! check its size), so the heap stays flat however many hashes run. This
//! binary counts every allocation (dhat's heap-testing mode), which is why
//! it holds this one test alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gatehouse_adapter_crypto::{Argon2Config, Argon2Hasher};
use gatehouse_application::ports::{PasswordHasher, Verified};
use gatehouse_domain::Password;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const MEMORY_KIB: u32 = 4096;

#[test]
fn hashing_and_verifying_reuse_the_slots_memory() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let hasher = Argon2Hasher::new(&Argon2Config {
        memory_kib: MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 2,
        queue_wait: Duration::from_secs(5),
    })
    .unwrap();
    let password = || Password::presented("a passphrase to hash");

    runtime.block_on(async {
        // Warm-up: the first hash of each thread maps its arena.
        let hash = hasher.hash(password()).await.unwrap();
        let before = dhat::HeapStats::get();

        for _ in 0..4 {
            let (a, b) = tokio::join!(hasher.hash(password()), hasher.hash(password()));
            a.unwrap();
            b.unwrap();
            let verdict = hasher.verify(password(), Some(hash.clone())).await.unwrap();
            assert!(matches!(verdict, Verified::Match { .. }));
            let unknown = hasher.verify(password(), None).await.unwrap();
            assert_eq!(unknown, Verified::Mismatch);
        }

        let after = dhat::HeapStats::get();
        let allocated = after.total_bytes - before.total_bytes;
        // 16 Argon2 runs; a single per-call working buffer would be 4 MiB.
        dhat::assert!(
            allocated < u64::from(MEMORY_KIB) * 1024 / 4,
            "16 hashes allocated {allocated} bytes"
        );
    });
}
