use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A missing .env is normal in production; only a malformed one is worth a word.
    let dotenv = dotenvy::dotenv();
    if let Err(e) = &dotenv
        && !e.not_found()
    {
        eprintln!("calsync: ignoring unreadable .env: {e}");
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    // Say so when a .env file supplied settings: a stray development one must not go unseen.
    if let Ok(path) = &dotenv {
        log::info!("read settings from {}", path.display());
    }
    let cli = calsync::cli::Cli::parse();
    match calsync::roles::run(cli) {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
