//! `gatehouse`: serve the API, apply migrations, or create an account.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use gatehouse_adapter_crypto::Ed25519SigningKey;
use gatehouse_application::use_cases::admin::CreateAccount;
use gatehouse_domain::{DisplayName, Email, Password, Role};
use gatehouse_server::startup::{build_ports, prepare_database};
use gatehouse_server::store::Backend;
use gatehouse_server::{Application, Config, GatehousePorts, telemetry};

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
    /// Accounts made by the operator.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The configuration from the environment.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Moving data between stores.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Copy every row of an SQLite store into an empty PostgreSQL database
    /// (created and migrated if missing). The copy reads one snapshot of
    /// the file: stop the service (or its traffic) before it starts, or
    /// what is written afterwards stays behind.
    Copy {
        /// The SQLite store, as its DATABASE_URL (`sqlite://path`).
        #[arg(long)]
        from: String,
        /// The PostgreSQL database, as its DATABASE_URL (`postgres://…`).
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print every setting in effect (secrets redacted), check it as
    /// `serve` would (key files included, no database), and exit non-zero
    /// if it is invalid.
    Check,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Write a new Ed25519 private key (PKCS#8 PEM) to standard output, for
    /// AUTH_JWT_PRIVATE_KEY_FILE; its key id goes to standard error.
    Generate,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account (email verified), a plain user unless `--role
    /// admin`; the password is read from standard input, without echo at a
    /// terminal.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        /// The account's display name.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    User,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        // No logging and no configuration: the output is the key alone.
        Command::Keys {
            command: KeysCommand::Generate,
        } => return generate_key(),
        Command::Config {
            command: ConfigCommand::Check,
        } => return check_config(),
        // No configuration: both stores are named on the command line.
        Command::Db {
            command: DbCommand::Copy { from, to },
        } => return copy_store(&from, &to).await,
        command => command,
    };
    let _log_writer = telemetry::init();
    let config = Config::from_env().context("reading configuration")?;
    match command {
        Command::Serve => {
            let app = Application::build(&config)
                .await
                .context("starting gatehouse")?;
            tracing::info!(addr = %config.http.listen_addr, port = app.port(), "gatehouse listening");
            app.run_until_stopped().await.context("serving")?;
            tracing::info!("gatehouse stopped");
        }
        Command::Migrate => {
            prepare_database(&config).await?;
            tracing::info!("migrations up to date");
        }
        Command::Admin {
            command: AdminCommand::Create { email, role, name },
        } => create_account(&config, &email, role, name.as_deref()).await?,
        Command::Keys { .. } => generate_key()?,
        Command::Config { .. } => check_config()?,
        Command::Db { .. } => bail!("handled above"),
    }
    Ok(())
}

async fn create_account(
    config: &Config,
    email: &str,
    role: RoleArg,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let name = name
        .map(DisplayName::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let password = read_password()?;
    prepare_database(config).await?;
    gatehouse_server::with_backend!(config, S => {
        let ports = build_ports::<S>(config).await?;
        create_on(&ports, email, &password, role, name).await
    })
}

async fn create_on<S: Backend>(
    ports: &GatehousePorts<S>,
    email: Email,
    password: &str,
    role: RoleArg,
    name: Option<DisplayName>,
) -> anyhow::Result<()> {
    let role = match role {
        RoleArg::Admin => Role::Admin,
        RoleArg::User => Role::User,
    };
    let user = CreateAccount::new(ports)
        .execute(email, &Password::presented(password), role, name)
        .await
        .context("creating the account")?;
    tracing::info!(user_id = %user.id, email = %user.email.masked(), role = role.as_str(), "account created");
    Ok(())
}

/// Plain lines on standard output (no logger: this is the answer, not a
/// log), problems on standard error.
fn check_config() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let mut out = std::io::stdout().lock();
    for (name, value) in &config.effective {
        writeln!(out, "{name}={value}").context("writing to standard output")?;
    }
    out.flush().context("writing to standard output")?;
    config.check_keys()?;
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    eprintln!("configuration valid");
    Ok(())
}

/// The per-table counts on standard error, as `config check` reports.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
async fn copy_store(from: &str, to: &str) -> anyhow::Result<()> {
    let copied = gatehouse_server::db_copy::copy(from, to).await?;
    for (table, rows) in &copied {
        eprintln!("{table}: {rows} rows");
    }
    eprintln!("copied every row; point DATABASE_URL at the new database to serve from it");
    Ok(())
}

#[cfg(not(all(feature = "postgres", feature = "sqlite")))]
async fn copy_store(_from: &str, _to: &str) -> anyhow::Result<()> {
    bail!("db copy needs a build with both stores (cargo features postgres and sqlite)")
}

fn generate_key() -> anyhow::Result<()> {
    let key = Ed25519SigningKey::generate()?;
    let pem = key.to_pem()?;
    let mut out = std::io::stdout().lock();
    out.write_all(pem.expose().as_bytes())
        .and_then(|()| out.flush())
        .context("writing the key to standard output")?;
    eprintln!("kid: {}", key.public().kid());
    Ok(())
}

/// One line from standard input; at a terminal, asked for without echo.
fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").context("reading the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}
