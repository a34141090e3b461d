//! For `scripts/bench-webhook`: prints `channel_id token` lines for synthetic channels, the
//! tokens derived from `CHANNEL_TOKEN_SECRET` exactly as `calsync serve` checks them.
//!
//! `cargo run --example bench_tokens -- 1000`. A benchmark helper, deliberately not part of
//! the production binary: it prints tokens valid under whatever secret it is given.

use calsync::channel_token;
use calsync::config::WebhookConfig;

fn main() -> anyhow::Result<()> {
    let count: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1000,
    };
    let config = WebhookConfig::from_env()?;
    for i in 0..count {
        let id = format!("bench-channel-{i:05}");
        println!(
            "{id} {}",
            channel_token::derive(&config.channel_token_secret, &id)
        );
    }
    Ok(())
}
