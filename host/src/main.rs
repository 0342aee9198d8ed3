//! The `arca` command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// arca: one OCI registry for every artifact a team ships.
#[derive(Parser)]
#[command(name = "arca", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the registry.
    ///
    /// Settings come from embedded defaults, then the TOML file given with --config,
    /// then ARCA_* environment variables (ARCA_LISTEN, ARCA_DATA_DIR,
    /// ARCA_LIMITS__MAX_MANIFEST_BYTES, …; `__` separates sections), then these flags.
    /// See docs/configuration.md.
    Serve {
        /// TOML configuration file.
        #[arg(long, short, env = "ARCA_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:5000; port 0 picks a free port].
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Directory for blobs and metadata [default: ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults, file and environment merged) as TOML.
    Config {
        /// TOML configuration file.
        #[arg(long, short, env = "ARCA_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn init_logging(cfg: &arca::config::Config) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log.filter));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if cfg.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
        } => {
            let mut cfg = arca::config::Config::load(config.as_deref())?;
            if let Some(l) = listen {
                cfg.listen = l;
            }
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            init_logging(&cfg);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(arca::server::serve(cfg))
        }
        Command::Config { config } => {
            let cfg = arca::config::Config::load(config.as_deref())?;
            print!("{}", toml::to_string_pretty(&cfg)?);
            Ok(())
        }
    }
}
