//! What both sync directions share: acting for one user at Google (their session, with the
//! access token cached and refreshed), the error every such call can end in, and the
//! parking of a user whose grant is gone. Inbound, outbound and channel management import
//! this; none of them imports another's internals.

mod error;
pub mod reauth;
mod session;

pub use error::AccountError;
pub use session::{GoogleAccounts, UserSession};
