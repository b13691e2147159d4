//! What `/metrics` samples from the composition root at each scrape: the
//! hasher's load, the connection pools of every worker, and the mail
//! sender's counts. The HTTP layer counts requests and outcomes itself.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use gatehouse_adapter_crypto::Argon2Hasher;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntGauge, Registry};

use crate::mail::MailCounters;
use gatehouse_application::ports::PoolLoad;

use crate::store::Backend;

type Gauge = Box<dyn Fn() -> PoolLoad + Send + Sync>;

/// Every pool of the process: the background one, and each worker's own
/// where the backend gives workers their own.
#[derive(Clone, Default)]
pub struct Pools(Arc<Mutex<Vec<Gauge>>>);

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pools").finish_non_exhaustive()
    }
}

impl Pools {
    pub fn add<S: Backend + Send + Sync>(&self, store: S) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(move || store.pool_load()));
    }

    fn load(&self) -> PoolLoad {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|gauge| gauge())
            .fold(PoolLoad::default(), |sum, pool| PoolLoad {
                connections: sum.connections.saturating_add(pool.connections),
                idle: sum.idle.saturating_add(pool.idle),
            })
    }
}

/// Read at scrape time, so the figures are current and nothing on a hot
/// path pays for them.
struct Sampled {
    hasher: Argon2Hasher,
    pools: Pools,
    mail: Arc<MailCounters>,
    hashes_in_flight: IntGauge,
    hashes_waiting: IntGauge,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    mails_sent: IntCounter,
    mails_failed: IntCounter,
    /// Two scrapes at once must not interleave the counters' catch-up.
    sampling: Mutex<()>,
}

impl Sampled {
    fn metrics(&self) -> [&dyn Collector; 6] {
        [
            &self.hashes_in_flight,
            &self.hashes_waiting,
            &self.pool_connections,
            &self.pool_idle,
            &self.mails_sent,
            &self.mails_failed,
        ]
    }
}

fn to_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// Brings a counter up to `total`, a count that only grows.
fn catch_up(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

impl Collector for Sampled {
    fn desc(&self) -> Vec<&Desc> {
        self.metrics()
            .into_iter()
            .flat_map(Collector::desc)
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _sampling = self.sampling.lock().unwrap_or_else(PoisonError::into_inner);
        let hashing = self.hasher.load();
        self.hashes_in_flight.set(to_i64(hashing.in_flight));
        self.hashes_waiting.set(to_i64(hashing.waiting));
        let pools = self.pools.load();
        self.pool_connections.set(i64::from(pools.connections));
        self.pool_idle.set(i64::from(pools.idle));
        catch_up(&self.mails_sent, self.mail.sent.load(Ordering::Relaxed));
        catch_up(&self.mails_failed, self.mail.failed.load(Ordering::Relaxed));
        self.metrics()
            .into_iter()
            .flat_map(Collector::collect)
            .collect()
    }
}

/// Registers the sampled families beside the HTTP layer's.
///
/// # Errors
/// Only if a name were registered twice.
pub fn register_sampled(
    registry: &Registry,
    hasher: Argon2Hasher,
    pools: Pools,
    mail: Arc<MailCounters>,
) -> prometheus::Result<()> {
    registry.register(Box::new(Sampled {
        hasher,
        pools,
        mail,
        hashes_in_flight: IntGauge::new(
            "gatehouse_password_hashes_in_flight",
            "Argon2 computations running now",
        )?,
        hashes_waiting: IntGauge::new(
            "gatehouse_password_hashes_waiting",
            "Requests whose Argon2 hash has not started yet",
        )?,
        pool_connections: IntGauge::new(
            "gatehouse_db_pool_connections",
            "Database connections open, all pools of the process",
        )?,
        pool_idle: IntGauge::new(
            "gatehouse_db_pool_idle_connections",
            "Open database connections not in use",
        )?,
        mails_sent: IntCounter::new("gatehouse_mails_sent_total", "Mails the server accepted")?,
        mails_failed: IntCounter::new(
            "gatehouse_mails_failed_total",
            "Mails given up after a day of retries",
        )?,
        sampling: Mutex::new(()),
    }))
}
