//! `gatehouse`: serve the API, or apply migrations.

use anyhow::Context;
use clap::{Parser, Subcommand};
use gatehouse_server::startup::prepare_database;
use gatehouse_server::{Application, Config, telemetry};

#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about = "Authentication service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _log_writer = telemetry::init();
    let config = Config::from_env().context("reading configuration")?;
    match cli.command {
        Command::Serve => {
            let app = Application::build(&config)
                .await
                .context("starting gatehouse")?;
            tracing::info!(addr = %config.listen_addr, port = app.port(), "gatehouse listening");
            app.run_until_stopped().await.context("serving")?;
            tracing::info!("gatehouse stopped");
        }
        Command::Migrate => {
            prepare_database(&config).await?;
            tracing::info!("migrations up to date");
        }
    }
    Ok(())
}
