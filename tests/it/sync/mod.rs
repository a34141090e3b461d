mod apply_rules;
mod lease;
