pub mod builders;
pub mod test_db;
