mod outbox_trigger;
mod sweep;
