pub mod builders;
pub mod google;
pub mod test_db;
