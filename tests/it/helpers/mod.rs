pub mod builders;
pub mod calendar_fixtures;
pub mod google;
pub mod pipeline;
pub mod test_app;
pub mod test_db;
pub mod test_redis;
