mod channel_store;
mod credentials;
mod links;
mod migrate_command;
mod migrations;
mod pool;
mod row_level_security;
