//! Taking every deadline event off a calendar when its channel is stopped: events calsync no
//! longer keeps in sync would show stale dates, which is worse than none.

use uuid::Uuid;

use super::push::PushError;
use crate::db::DbError;
use crate::db::models::case_event_link as links;
use crate::google::GoogleError;
use crate::google::session::SessionError;
use crate::sync::SyncContext;

/// Deletes every live linked event of `user_id` on `calendar_id` and marks the links removed
/// (a later watch puts the deadlines back with new generations). Returns how many events
/// were deleted.
pub async fn unpublish_calendar(
    ctx: &SyncContext,
    user_id: Uuid,
    calendar_id: &str,
) -> Result<usize, PushError> {
    let calendar = calendar_id.to_owned();
    let live = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(links::list_live_for_calendar(conn, user_id, &calendar)?))
        .await?;
    let mut session = ctx.google.session(user_id);
    let mut deleted = 0;
    for link in live {
        match session
            .delete_event(calendar_id, &link.google_event_id, None)
            .await
        {
            Ok(()) => deleted += 1,
            Err(SessionError::Google(GoogleError::NotFound | GoogleError::AlreadyDeleted)) => {}
            Err(e) => return Err(e.into()),
        }
        let id = link.id;
        ctx.db
            .run(move |conn| Ok::<_, DbError>(links::mark_removed(conn, id)?))
            .await?;
    }
    Ok(deleted)
}
