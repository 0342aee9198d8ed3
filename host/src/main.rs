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
    /// Work with plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Run every indexer again over stored manifests, on the running server
    /// (e.g. after a plugin upgrade).
    Reindex {
        /// The server's base URL.
        #[arg(long, env = "ARCA_URL", default_value = "http://127.0.0.1:5000")]
        url: String,
        /// Only repositories under this path prefix.
        #[arg(long)]
        repository: Option<String>,
    },
    /// Print the effective configuration (defaults, file and environment merged) as TOML.
    Config {
        /// TOML configuration file.
        #[arg(long, short, env = "ARCA_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// List the plugins the running server has loaded.
    List {
        /// The server's base URL.
        #[arg(long, env = "ARCA_URL", default_value = "http://127.0.0.1:5000")]
        url: String,
    },
    /// Turn a plugin on for every replica of the running server.
    Enable {
        /// Plugin name.
        name: String,
        /// The server's base URL.
        #[arg(long, env = "ARCA_URL", default_value = "http://127.0.0.1:5000")]
        url: String,
    },
    /// Turn a plugin off for every replica of the running server.
    Disable {
        /// Plugin name.
        name: String,
        /// The server's base URL.
        #[arg(long, env = "ARCA_URL", default_value = "http://127.0.0.1:5000")]
        url: String,
    },
    /// Install a plugin from an OCI artifact (its one layer is the component), in this
    /// registry (`plugins/lint:1.0`) or another (`ghcr.io/acme/lint@sha256:…`). A tag is
    /// resolved and pinned to its digest; the plugin is active at once on every replica.
    Install {
        /// `[registry/]repository(:tag|@digest)`.
        reference: String,
        /// The server's base URL.
        #[arg(long, env = "ARCA_URL", default_value = "http://127.0.0.1:5000")]
        url: String,
    },
    /// Remove a plugin installed with `arca plugin install`.
    Remove {
        /// Plugin name.
        name: String,
        /// The server's base URL.
        #[arg(long, env = "ARCA_URL", default_value = "http://127.0.0.1:5000")]
        url: String,
    },
    /// Return a plugin to what the configuration says.
    Reset {
        /// Plugin name.
        name: String,
        /// The server's base URL.
        #[arg(long, env = "ARCA_URL", default_value = "http://127.0.0.1:5000")]
        url: String,
    },
    /// Load a plugin component, print what it declares, and run it on files.
    ///
    /// The files become the layers of an OCI image manifest (PATH or PATH:MEDIA_TYPE);
    /// the plugin validates and indexes it as if it were pushed. Exits with status 1 if
    /// the plugin rejects it or fails.
    Check {
        /// The plugin component (.wasm).
        wasm: PathBuf,
        /// Layer files, as PATH or PATH:MEDIA_TYPE.
        files: Vec<String>,
        /// Config blob, as PATH or PATH:MEDIA_TYPE [default: the empty config].
        #[arg(long)]
        config: Option<String>,
        /// The manifest's artifactType.
        #[arg(long)]
        artifact_type: Option<String>,
        /// Repository the pretend push goes to.
        #[arg(long, default_value = "check/artifact")]
        repository: String,
        /// Tag the pretend push uses.
        #[arg(long)]
        tag: Option<String>,
        /// Plugin settings, a JSON object.
        #[arg(long)]
        settings: Option<String>,
        /// Configuration file (plugin limits and settings apply).
        #[arg(long, short = 'c', env = "ARCA_CONFIG")]
        config_file: Option<PathBuf>,
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
        Command::Plugin {
            command: PluginCommand::List { url },
        } => arca::cli::plugin_list(&url),
        Command::Plugin {
            command: PluginCommand::Enable { name, url },
        } => arca::cli::plugin_switch(&url, &name, Some(true)),
        Command::Plugin {
            command: PluginCommand::Disable { name, url },
        } => arca::cli::plugin_switch(&url, &name, Some(false)),
        Command::Plugin {
            command: PluginCommand::Reset { name, url },
        } => arca::cli::plugin_switch(&url, &name, None),
        Command::Plugin {
            command: PluginCommand::Install { reference, url },
        } => arca::cli::plugin_install(&url, &reference),
        Command::Plugin {
            command: PluginCommand::Remove { name, url },
        } => arca::cli::plugin_remove(&url, &name),
        Command::Reindex { url, repository } => arca::cli::reindex(&url, repository.as_deref()),
        Command::Plugin {
            command:
                PluginCommand::Check {
                    wasm,
                    files,
                    config,
                    artifact_type,
                    repository,
                    tag,
                    settings,
                    config_file,
                },
        } => {
            let mut cfg = arca::config::Config::load(config_file.as_deref())?;
            cfg.plugins.builtin = false;
            cfg.plugins.files.clear();
            init_logging(&cfg);
            let args = arca::cli::CheckArgs {
                wasm,
                layers: files,
                config,
                artifact_type,
                repository,
                tag,
                settings,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if !rt.block_on(arca::cli::plugin_check(args, cfg))? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Config { config } => {
            let cfg = arca::config::Config::load(config.as_deref())?;
            print!("{}", toml::to_string_pretty(&cfg)?);
            Ok(())
        }
    }
}
