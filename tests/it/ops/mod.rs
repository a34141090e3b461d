mod architecture;
mod channels_watch;
mod commands;
mod config_docs;
