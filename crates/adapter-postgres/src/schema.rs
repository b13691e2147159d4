// The tables diesel's query builder is used on; every other statement is
// SQL of its own (`sql_query`), checked by the store contract on both stores.

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
        name -> Nullable<Text>,
        metadata -> Jsonb,
        password_must_change -> Bool,
        last_sign_in_at -> Nullable<Timestamptz>,
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

diesel::allow_tables_to_appear_in_same_query!(users, audit_events);
