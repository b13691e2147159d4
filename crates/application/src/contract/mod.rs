//! The store ports' contract as executable checks, one module per area.
//! Each adapter's test suite runs every case against a fresh, empty store
//! (`store_contract_tests!`), so the PostgreSQL and SQLite adapters (and
//! any new one) are held to the same behaviour: this is the specification
//! of a store, and a new port method comes with its case here. Races start
//! every call before awaiting any (`join_all`), so an adapter whose calls
//! can run side by side does run them side by side. Failures panic: this
//! is test support.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod account_tokens;
pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod housekeeping;
pub mod mfa;
pub mod outbox;
pub mod rotation;
pub mod sessions;
pub mod sign_in;
mod support;
pub mod units_of_work;
pub mod users;

/// Runs the whole store contract, one `#[tokio::test]` per case, against
/// the store `$store` makes from the fixture `$fixture` (built anew for
/// each test): `store_contract_tests!(TestDatabase::create().await, |db| db.store());`.
#[macro_export]
macro_rules! store_contract_tests {
    ($fixture:expr, |$f:ident| $store:expr) => {
        $crate::store_contract_tests!(@areas $fixture, $f, $store;
            users { users_are_created_once_and_found, password_hash_replacement_is_compare_and_swap, a_password_change_swaps_the_hash_and_ends_other_sessions, session_liveness_comes_with_the_user, concurrent_creations_of_one_email_make_one_user, only_the_email_conflict_is_email_taken, every_email_the_domain_accepts_is_stored_and_found, profiles_change_in_part_and_sign_ins_are_recorded }
            sessions { sessions_are_listed_and_ended_by_their_user, ending_a_session_erases_its_kept_successors }
            rotation { sessions_rotate_and_revoke, rotation_in_one_step_only_takes_current_tokens, a_replay_needs_its_successor_current, concurrent_rotations_have_one_winner, concurrent_presentations_see_the_one_rotation, concurrent_reuse_raises_one_alarm, a_refresh_racing_a_logout_leaves_the_session_ended }
            units_of_work { dropped_units_of_work_leave_no_trace, rolled_back_units_of_work_leave_no_trace, a_reachable_store_is_ready }
            outbox { the_outbox_claims_leases_and_settles, concurrent_claims_never_share_a_mail }
            account_tokens { reset_tokens_work_once, verification_tokens_work_once, a_reset_link_is_spent_once_under_a_race, a_burst_of_reset_requests_stops_at_the_limit, two_links_of_one_account_spent_at_once_reset_once, a_verification_link_is_spent_once_under_a_race }
            mfa { mfa_turns_on_and_off_as_compare_and_swap, codes_are_spent_once, enabling_mfa_ends_every_other_session, one_code_many_logins_one_success, removing_mfa_forgets_it_and_ends_every_session }
            sign_in { concurrent_attempts_are_let_in_up_to_the_limit, the_account_counter_spans_networks_and_refunds_take_back, a_lockout_doubles_once_it_has_ended, a_sign_in_starts_only_on_what_it_checked, reauthentication_needs_a_live_session_of_the_user, a_sign_in_racing_the_end_of_every_session_leaves_nothing_alive }
            api_keys { keys_are_created_listed_and_revoked_by_their_owner, the_limit_counts_only_live_keys, a_key_finds_its_holder_and_records_use_sparingly, concurrent_creations_stop_at_the_limit }
            admin { users_are_listed_in_id_order_after_a_cursor, an_update_changes_what_it_names_and_disabling_ends_sessions, the_last_enabled_admin_stays, two_admins_demoting_each_other_leave_one, users_are_found_by_a_part_of_their_email }
            audit { audit_events_come_newest_first_filtered_and_paged, audit_events_commit_with_their_unit_of_work }
            housekeeping { tokens_and_sessions_go_once_past_their_time, links_mail_audit_keys_and_counters_go_once_past_their_time, two_sweeps_share_a_backlog }
        );
    };
    (@areas $fixture:expr, $f:ident, $store:expr; $($area:ident { $($case:ident),+ $(,)? })+) => {
        $(
            mod $area {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[tokio::test]
                    async fn $case() {
                        let $f = $fixture;
                        let store = $store;
                        $crate::contract::$area::$case(&store).await;
                    }
                )+
            }
        )+
    };
}
