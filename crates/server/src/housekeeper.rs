//! The housekeeper: a sweep of expired data (`SweepExpiredData`) every
//! interval on every instance; the sweeps skip each other's rows.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::Ports;
use gatehouse_application::use_cases::SweepExpiredData;

use crate::background::Background;

pub fn spawn_housekeeper<P: Ports>(ports: Arc<P>, interval: Duration) -> Background {
    Background::spawn(interval, move || {
        let ports = Arc::clone(&ports);
        async move {
            if let Err(error) = SweepExpiredData::new(&*ports).execute().await {
                tracing::warn!(error = %error, "housekeeping sweep failed; will try again");
            }
            // A backlog is worked off over passes an interval apart.
            false
        }
    })
}
