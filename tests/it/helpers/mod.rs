pub mod builders;
pub mod test_app;
pub mod test_db;
pub mod test_redis;
