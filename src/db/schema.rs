// @generated automatically by Diesel CLI.

diesel::table! {
    calendar_outbox (id) {
        id -> Int8,
        user_id -> Uuid,
        case_id -> Uuid,
        deleted_events -> Nullable<Jsonb>,
        attempts -> Int4,
        available_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_sync_audit (id) {
        id -> Int8,
        case_id -> Uuid,
        user_id -> Uuid,
        #[max_length = 32]
        field -> Varchar,
        old_value -> Nullable<Date>,
        new_value -> Nullable<Date>,
        #[max_length = 1024]
        google_event_id -> Varchar,
        google_etag -> Nullable<Text>,
        #[max_length = 16]
        outcome -> Varchar,
        recorded_at -> Timestamptz,
        conflict -> Bool,
        tracker_value -> Nullable<Date>,
        google_value -> Nullable<Date>,
        tracker_changed_at -> Nullable<Timestamptz>,
        google_updated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    calendar_sync_channels (id) {
        id -> Uuid,
        user_id -> Uuid,
        #[max_length = 255]
        calendar_id -> Varchar,
        #[max_length = 64]
        channel_id -> Varchar,
        #[max_length = 255]
        resource_id -> Varchar,
        resource_uri -> Nullable<Text>,
        sync_token -> Nullable<Text>,
        expiration_timestamp -> Int8,
        #[max_length = 16]
        status -> Varchar,
        last_message_number -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_notification_at -> Nullable<Timestamptz>,
        sync_lease_owner -> Nullable<Uuid>,
        sync_lease_expires_at -> Nullable<Timestamptz>,
        sync_wanted_at -> Nullable<Timestamptz>,
        hold_reason -> Nullable<Text>,
        held_at -> Nullable<Timestamptz>,
        mass_dismissal_confirmed -> Bool,
        renewal_jitter -> Float8,
        renewal_claimed_until -> Nullable<Timestamptz>,
        backstop_due_at -> Nullable<Timestamptz>,
        last_sync_started_at -> Nullable<Timestamptz>,
        sync_trailing_at -> Nullable<Timestamptz>,
        suspect_since -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    case_deadline_revisions (case_id, deadline_kind) {
        case_id -> Uuid,
        #[max_length = 32]
        deadline_kind -> Varchar,
        changed_at -> Timestamptz,
        #[max_length = 8]
        origin -> Varchar,
        tracker_rev -> Int8,
        tracker_changed_at -> Nullable<Timestamptz>,
        google_txid -> Nullable<Int8>,
    }
}

diesel::table! {
    case_event_links (id) {
        id -> Uuid,
        case_id -> Uuid,
        user_id -> Uuid,
        #[max_length = 32]
        deadline_kind -> Varchar,
        #[max_length = 255]
        calendar_id -> Varchar,
        #[max_length = 1024]
        google_event_id -> Varchar,
        generation -> Int4,
        etag -> Nullable<Text>,
        synced_date -> Nullable<Date>,
        dismissed -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        removed -> Bool,
        synced_summary -> Nullable<Text>,
        synced_tracker_rev -> Nullable<Int8>,
        pending_date -> Nullable<Date>,
        pending_summary -> Nullable<Text>,
        pending_tracker_rev -> Nullable<Int8>,
        pending_at -> Nullable<Timestamptz>,
        body_version -> Int4,
    }
}

diesel::table! {
    cases (id) {
        id -> Uuid,
        user_id -> Uuid,
        employer_name -> Text,
        beneficiary_name -> Text,
        status -> Text,
        closed_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        pwd_expiration_date -> Nullable<Date>,
        recruitment_start_date -> Nullable<Date>,
        filing_window_opens -> Nullable<Date>,
        filing_window_closes -> Nullable<Date>,
        eta9089_filing_date -> Nullable<Date>,
        eta9089_expiration_date -> Nullable<Date>,
        i140_filing_deadline -> Nullable<Date>,
        rfi_due_date -> Nullable<Date>,
        rfe_due_date -> Nullable<Date>,
        calendar_last_synced_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    channel_strays (channel_id) {
        #[max_length = 64]
        channel_id -> Varchar,
        user_id -> Uuid,
        #[max_length = 255]
        resource_id -> Varchar,
        stop_after -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    google_calendar_connections (user_id) {
        user_id -> Uuid,
        google_sub -> Text,
        google_email -> Text,
        #[max_length = 16]
        calendar_mode -> Varchar,
        #[max_length = 255]
        calendar_id -> Nullable<Varchar>,
        calendar_name -> Nullable<Text>,
        paused_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamptz>,
        connected_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    google_credentials (user_id) {
        user_id -> Uuid,
        refresh_token_ciphertext -> Bytea,
        refresh_token_nonce -> Bytea,
        key_version -> Int4,
        scopes -> Text,
        #[max_length = 16]
        status -> Varchar,
        access_token_ciphertext -> Nullable<Bytea>,
        access_token_nonce -> Nullable<Bytea>,
        access_token_expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    oauth_connect_flows (id) {
        id -> Uuid,
        user_id -> Uuid,
        link_hash -> Bytea,
        link_opened_at -> Nullable<Timestamptz>,
        state_hash -> Nullable<Bytea>,
        browser_hash -> Nullable<Bytea>,
        pkce_verifier -> Nullable<Text>,
        consent_retries -> Int4,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        consumed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    perm_users (id) {
        id -> Uuid,
        email -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(calendar_outbox -> perm_users (user_id));
diesel::joinable!(calendar_sync_audit -> cases (case_id));
diesel::joinable!(calendar_sync_audit -> perm_users (user_id));
diesel::joinable!(calendar_sync_channels -> perm_users (user_id));
diesel::joinable!(case_deadline_revisions -> cases (case_id));
diesel::joinable!(case_event_links -> perm_users (user_id));
diesel::joinable!(cases -> perm_users (user_id));
diesel::joinable!(channel_strays -> perm_users (user_id));
diesel::joinable!(google_calendar_connections -> perm_users (user_id));
diesel::joinable!(google_credentials -> perm_users (user_id));
diesel::joinable!(oauth_connect_flows -> perm_users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    calendar_outbox,
    calendar_sync_audit,
    calendar_sync_channels,
    case_deadline_revisions,
    case_event_links,
    cases,
    channel_strays,
    google_calendar_connections,
    google_credentials,
    oauth_connect_flows,
    perm_users,
);
