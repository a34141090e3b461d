mod apply_rules;
mod engine;
mod lease;
