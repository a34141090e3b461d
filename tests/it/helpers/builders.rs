//! Fixture builders: rows with randomised identifiers.

use calsync::db::schema::{cases, perm_users};
use calsync::ids::{CaseId, UserId};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

/// Inserts a user with a random email; returns its id.
pub fn insert_user(conn: &mut PgConnection) -> UserId {
    diesel::insert_into(perm_users::table)
        .values(perm_users::email.eq(format!("user-{}@example.com", Uuid::new_v4().simple())))
        .returning(perm_users::id)
        .get_result::<uuid::Uuid>(conn)
        .map(UserId)
        .expect("insert user")
}

/// Inserts an open case of `user_id`; returns its id.
pub fn insert_case(conn: &mut PgConnection, user_id: UserId) -> CaseId {
    diesel::insert_into(cases::table)
        .values((
            cases::user_id.eq(user_id),
            cases::employer_name.eq("Acme Robotics"),
            cases::beneficiary_name.eq(format!(
                "Beneficiary {}",
                &Uuid::new_v4().simple().to_string()[..6]
            )),
        ))
        .returning(cases::id)
        .get_result::<uuid::Uuid>(conn)
        .map(CaseId)
        .expect("insert case")
}
