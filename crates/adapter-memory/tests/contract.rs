//! The in-memory store against the shared store-port contract.

use gatehouse_adapter_memory::MemoryStore;
use gatehouse_application::contract;

#[tokio::test]
async fn users_are_created_once_and_found() {
    contract::users_are_created_once_and_found(&MemoryStore::new()).await;
}

#[tokio::test]
async fn password_hash_replacement_is_compare_and_swap() {
    contract::password_hash_replacement_is_compare_and_swap(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sessions_rotate_and_revoke() {
    contract::sessions_rotate_and_revoke(&MemoryStore::new()).await;
}

#[tokio::test]
async fn dropped_units_of_work_leave_no_trace() {
    contract::dropped_units_of_work_leave_no_trace(&MemoryStore::new()).await;
}

#[tokio::test]
async fn rotation_in_one_step_only_takes_current_tokens() {
    contract::rotation_in_one_step_only_takes_current_tokens(&MemoryStore::new()).await;
}

#[tokio::test]
async fn session_liveness_comes_with_the_user() {
    contract::session_liveness_comes_with_the_user(&MemoryStore::new()).await;
}

#[tokio::test]
async fn rolled_back_units_of_work_leave_no_trace() {
    contract::rolled_back_units_of_work_leave_no_trace(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sessions_are_listed_and_ended_by_their_user() {
    contract::sessions_are_listed_and_ended_by_their_user(&MemoryStore::new()).await;
}

#[tokio::test]
async fn a_password_change_swaps_the_hash_and_ends_other_sessions() {
    contract::a_password_change_swaps_the_hash_and_ends_other_sessions(&MemoryStore::new()).await;
}

#[tokio::test]
async fn ending_a_session_erases_its_kept_successors() {
    contract::ending_a_session_erases_its_kept_successors(&MemoryStore::new()).await;
}

#[tokio::test]
async fn the_outbox_claims_leases_and_settles() {
    contract::mail::the_outbox_claims_leases_and_settles(&MemoryStore::new()).await;
}

#[tokio::test]
async fn reset_tokens_work_once() {
    contract::mail::reset_tokens_work_once(&MemoryStore::new()).await;
}

#[tokio::test]
async fn verification_tokens_work_once() {
    contract::mail::verification_tokens_work_once(&MemoryStore::new()).await;
}

#[tokio::test]
async fn mfa_turns_on_and_off_as_compare_and_swap() {
    contract::mfa::mfa_turns_on_and_off_as_compare_and_swap(&MemoryStore::new()).await;
}

#[tokio::test]
async fn mfa_codes_are_spent_once() {
    contract::mfa::codes_are_spent_once(&MemoryStore::new()).await;
}
