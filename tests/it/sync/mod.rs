mod apply_rules;
mod breaker;
mod engine;
mod lease;
