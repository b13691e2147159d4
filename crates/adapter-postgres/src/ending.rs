//! The one way a statement ends sessions, shared by every statement that
//! does (logout, sign out everywhere, password change and reset, MFA,
//! admin disable): a macro, so that each statement stays one `const`.

/// Two CTEs, `ended` and `erased`: ends the live sessions among the ids
/// the CTE `$source` selects (`ended` returns their ids), and erases the
/// successors their tokens kept for grace replays, since a revoked family
/// answers no replay and an old token plus a copy of the database must not
/// lead anywhere. `$at` and `$reason` are SQL (a parameter or a literal).
///
/// `erased` also takes each session's current token (`rotated_at IS
/// NULL`), though it keeps nothing yet: a rotation that committed while
/// this statement waited for the session's lock kept a successor on that
/// very row, which this statement's snapshot still shows as current. Being
/// a candidate, the row is re-read at its latest version when the update
/// reaches it, and that successor is erased too; a filter on
/// `sealed_successor IS NOT NULL` alone would skip it for good.
///
/// The limit: a statement ending several sessions that waits on one of
/// them while another rotates twice does not see the middle token (it was
/// inserted after the snapshot), so that token's kept successor stays
/// until the sweep erases it at the end of the grace. It answers no
/// replay meanwhile: its session is revoked.
macro_rules! end_sessions {
    (from $source:literal, at $at:literal, reason $reason:literal) => {
        concat!(
            "ended AS (UPDATE sessions SET revoked_at = ",
            $at,
            ", revoke_reason = ",
            $reason,
            " WHERE id IN (SELECT id FROM ",
            $source,
            ") AND revoked_at IS NULL RETURNING id), ",
            "erased AS (UPDATE refresh_tokens SET sealed_successor = NULL ",
            "WHERE session_id IN (SELECT id FROM ended) ",
            "AND (sealed_successor IS NOT NULL OR rotated_at IS NULL))"
        )
    };
}
