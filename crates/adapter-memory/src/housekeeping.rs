//! The sweep, in memory: the same cut-offs and batch bounds as the port says.

use gatehouse_application::PortError;
use gatehouse_application::ports::{Housekeeping, Sweep, Swept};

use crate::MemoryStore;

fn limit(batch: u32) -> usize {
    usize::try_from(batch).unwrap_or(usize::MAX)
}

impl Housekeeping for MemoryStore {
    async fn sweep(&self, sweep: Sweep) -> Result<Swept, PortError> {
        let mut state = self.state.lock().await;
        let mut swept = Swept::default();
        let batch = limit(sweep.batch);

        for token in state
            .tokens
            .values_mut()
            .filter(|t| t.sealed_successor.is_some())
            .filter(|t| t.rotated_at.is_some_and(|at| at < sweep.grace_over_before))
            .take(batch)
        {
            token.sealed_successor = None;
            swept.successors_erased += 1;
        }

        let ended: Vec<_> = state
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.revoked_at
                    .is_some_and(|at| at < sweep.sessions_ended_before)
                    || s.expires_at < sweep.sessions_ended_before
            })
            .map(|(id, _)| *id)
            .take(batch)
            .collect();
        for id in &ended {
            state.sessions.remove(id);
        }
        state.tokens.retain(|_, t| !ended.contains(&t.session_id));
        swept.sessions_deleted = ended.len() as u64;

        let spent: Vec<_> = state
            .account_tokens
            .iter()
            .filter(|(_, t)| {
                t.created_at < sweep.links_made_before
                    && (t.used_at.is_some() || t.expires_at <= sweep.now)
            })
            .map(|(digest, _)| digest.clone())
            .take(batch)
            .collect();
        for digest in &spent {
            state.account_tokens.remove(digest);
        }
        swept.links_deleted = spent.len() as u64;

        let before = state.audit.len();
        let mut budget = batch;
        state.audit.retain(|e| {
            if e.at < sweep.audit_before && budget > 0 {
                budget -= 1;
                false
            } else {
                true
            }
        });
        swept.audit_events_deleted = (before - state.audit.len()) as u64;

        let before = state.outbox.len();
        let mut budget = batch;
        state.outbox.retain(|m| {
            if !m.body_kept && m.mail.queued_at < sweep.mail_queued_before && budget > 0 {
                budget -= 1;
                false
            } else {
                true
            }
        });
        swept.mails_deleted = (before - state.outbox.len()) as u64;

        let idle: Vec<_> = state
            .login_throttle
            .iter()
            .filter(|(_, (_, until, updated))| {
                *updated < sweep.throttles_idle_before
                    && until.is_none_or(|until| until <= sweep.now)
            })
            .map(|(key, _)| key.clone())
            .take(batch)
            .collect();
        for key in &idle {
            state.login_throttle.remove(key);
        }
        swept.throttles_deleted = idle.len() as u64;
        Ok(swept)
    }
}
