use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A missing .env is normal in production; only a malformed one is worth a word.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("calsync: ignoring unreadable .env: {e}");
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = calsync::cli::Cli::parse();
    match calsync::roles::run(cli) {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
