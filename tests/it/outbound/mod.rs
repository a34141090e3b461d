mod outbox_trigger;
