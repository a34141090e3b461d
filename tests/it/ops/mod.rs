mod channels_watch;
mod commands;
