// The tables of `migrations/`, for diesel's query builder.

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        mfa_enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoke_reason -> Nullable<Text>,
        amr -> Array<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        session_id -> Uuid,
        digest -> Bytea,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        sealed_successor -> Nullable<Bytea>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        at -> Timestamptz,
        kind -> Text,
        user_id -> Nullable<Uuid>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Jsonb,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, refresh_tokens, audit_events);

diesel::table! {
    account_tokens (digest) {
        digest -> Bytea,
        purpose -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Uuid,
        recipient -> Text,
        subject -> Text,
        sealed_body -> Nullable<Bytea>,
        queued_at -> Timestamptz,
        next_attempt_at -> Timestamptz,
        attempts -> Int4,
        sent_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
    }
}
