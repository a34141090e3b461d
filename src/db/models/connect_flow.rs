//! OAuth connect flows in progress (`oauth_connect_flows`). Only hashes of the one-time link
//! token, the `state` and the browser cookie are stored; every step is a conditional UPDATE,
//! so a link or a state is used once even when two requests race.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::oauth_connect_flows::{self, dsl};
use crate::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_connect_flows, check_for_backend(diesel::pg::Pg))]
pub struct ConnectFlow {
    pub id: Uuid,
    pub user_id: UserId,
    pub link_opened_at: Option<DateTime<Utc>>,
    pub browser_hash: Option<Vec<u8>>,
    pub pkce_verifier: Option<String>,
    pub consent_retries: i32,
    pub expires_at: DateTime<Utc>,
    pub consumed_at: Option<DateTime<Utc>>,
}

/// A new flow for `user_id`, opened by the link whose token hashes to `link_hash`.
pub fn create(
    conn: &mut PgConnection,
    user_id: UserId,
    link_hash: &[u8],
    lifetime: Duration,
    consent_retries: i32,
) -> QueryResult<ConnectFlow> {
    diesel::insert_into(dsl::oauth_connect_flows)
        .values((
            dsl::user_id.eq(user_id),
            dsl::link_hash.eq(link_hash),
            dsl::expires_at.eq(Utc::now() + lifetime),
            dsl::consent_retries.eq(consent_retries),
        ))
        .returning(ConnectFlow::as_returning())
        .get_result(conn)
}

/// Opens the link once: records the browser, the state and the PKCE verifier. `None` when no
/// such link, or it was opened already, or it expired.
pub fn open_link(
    conn: &mut PgConnection,
    link_hash: &[u8],
    state_hash: &[u8],
    browser_hash: &[u8],
    verifier: &str,
) -> QueryResult<Option<ConnectFlow>> {
    diesel::update(
        dsl::oauth_connect_flows
            .filter(dsl::link_hash.eq(link_hash))
            .filter(dsl::link_opened_at.is_null())
            .filter(dsl::expires_at.gt(diesel::dsl::now)),
    )
    .set((
        dsl::link_opened_at.eq(diesel::dsl::now),
        dsl::state_hash.eq(state_hash),
        dsl::browser_hash.eq(browser_hash),
        dsl::pkce_verifier.eq(verifier),
    ))
    .returning(ConnectFlow::as_returning())
    .get_result(conn)
    .optional()
}

/// The flow whose state hashes to `state_hash`, whatever its condition.
pub fn find_by_state(
    conn: &mut PgConnection,
    state_hash: &[u8],
) -> QueryResult<Option<ConnectFlow>> {
    dsl::oauth_connect_flows
        .filter(dsl::state_hash.eq(state_hash))
        .select(ConnectFlow::as_select())
        .first(conn)
        .optional()
}

/// Uses the flow up; `false` when another request did first (or it expired meanwhile).
pub fn consume(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::update(
        dsl::oauth_connect_flows
            .find(id)
            .filter(dsl::consumed_at.is_null())
            .filter(dsl::expires_at.gt(diesel::dsl::now)),
    )
    .set((
        dsl::consumed_at.eq(diesel::dsl::now),
        dsl::pkce_verifier.eq(None::<String>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Forgets flows that ended more than a day ago (bounded table).
pub fn delete_stale(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::delete(
        dsl::oauth_connect_flows.filter(dsl::expires_at.lt(Utc::now() - Duration::days(1))),
    )
    .execute(conn)
}

/// Whether the user has a flow that is still open (the status says `connecting`).
pub fn has_open_flow(conn: &mut PgConnection, user_id: UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        dsl::oauth_connect_flows
            .filter(dsl::user_id.eq(user_id))
            .filter(dsl::consumed_at.is_null())
            .filter(dsl::expires_at.gt(diesel::dsl::now)),
    ))
    .get_result(conn)
}
