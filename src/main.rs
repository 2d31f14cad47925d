//! The `doorman` binary: parse the command line, call the library, map errors to exit codes
//! (0 success, 1 invalid config or input, 2 usage) and one readable line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "doorman",
    version,
    about = "Edge authorization proxy for Clerk-authenticated apps"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
struct ConfigArg {
    /// The config file [default: $DOORMAN_CONFIG, else config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
}

impl ConfigArg {
    fn path(&self) -> PathBuf {
        self.config
            .clone()
            .or_else(|| std::env::var_os("DOORMAN_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("config.toml"))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy (the default).
    Run,
    /// Validate a config without serving; exit 1 when invalid.
    Check,
    /// Show how a request would be decided, check by check.
    Explain(ExplainArgs),
    /// Run a self-contained demonstration on loopback.
    Demo(DemoArgs),
    /// Write the claims doorman reads into Clerk users' public metadata (Backend API).
    Users(doorman::users::args::UsersArgs),
    /// Test-token tools.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Args)]
struct ExplainArgs {
    /// A session token to verify exactly as the proxy would (needs the keys).
    #[arg(long, conflicts_with = "claims")]
    token: Option<String>,
    /// A JSON payload to decide with, skipping verification.
    #[arg(long)]
    claims: Option<String>,
    /// Treat the request as a browser navigation (pages get redirects, not 401/403).
    #[arg(long)]
    navigate: bool,
    /// A request header, "Name: value" (repeatable); `Authorization: Bearer …` is used as the
    /// token when neither --token nor --claims is given.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// A request cookie, "name=value" (repeatable); the session cookie is used as the token
    /// when neither --token nor --claims is given.
    #[arg(long = "cookie", value_name = "NAME=VALUE")]
    cookies: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Explain a forward-auth call instead: METHOD and PATH are the call's (e.g. GET /nginx)
    /// and each `--call-header "Name: value"` one of its headers (X-Original-URI, Cookie, …).
    #[arg(long = "call-header", value_name = "NAME: VALUE")]
    call_headers: Vec<String>,
    /// HTTP method, e.g. GET.
    method: String,
    /// Path (and query) of the request, e.g. /dashboard?tab=1.
    path: String,
}

#[derive(Args)]
struct DemoArgs {
    /// Public listener of the demo proxy.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Admin listener of the demo proxy.
    #[arg(long, default_value = "127.0.0.1:9090")]
    admin_listen: String,
    /// Run the scenarios, print the results and exit instead of serving until Ctrl-C.
    #[arg(long)]
    once: bool,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a signed RS256 test token.
    Mint {
        /// PEM private key file (PKCS#8 or PKCS#1 RSA).
        #[arg(long)]
        key: PathBuf,
        /// The claims as JSON (or @FILE). iat, nbf and exp are added when absent.
        #[arg(long)]
        claims: String,
        /// The `kid` header.
        #[arg(long, default_value = "doorman-test")]
        kid: String,
        /// Lifetime when `exp` is absent.
        #[arg(long, default_value = "60s")]
        ttl: String,
        /// Print this many tokens, one per line, with `{n}` in claim strings replaced by
        /// 1..=N (load tests; signs on every core).
        #[arg(long, default_value_t = 1, hide = true)]
        count: usize,
    },
    /// Generate an RSA-2048 signing key (PKCS#8 PEM) and print its JWKS.
    Keygen {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
        /// The `kid` of the key in the printed JWKS.
        #[arg(long, default_value = "doorman-test")]
        kid: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own report; per-request log lines would bury it. `run` sets up
    // logging once its config (which names the format) is loaded.
    match &cli.command {
        Some(Command::Demo(_) | Command::Users(_)) => doorman::telemetry::init("warn", false),
        None | Some(Command::Run) => {}
        Some(_) => doorman::telemetry::init("info", false),
    }
    let path = cli.config.path();
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&path),
        Command::Check => doorman::commands::check(&path),
        Command::Explain(a) => doorman::commands::explain(&doorman::commands::ExplainRequest {
            config: path,
            token: a.token,
            claims: a.claims,
            navigate: a.navigate,
            headers: a.headers,
            cookies: a.cookies,
            json: a.json,
            call_headers: a.call_headers,
            method: a.method,
            path: a.path,
        }),
        Command::Demo(a) => doorman::dev::demo::main(&a.listen, &a.admin_listen, a.once),
        Command::Users(a) => doorman::users::command::run(&path, a),
        Command::Token {
            command:
                TokenCommand::Mint {
                    key,
                    claims,
                    kid,
                    ttl,
                    count,
                },
        } if count > 1 => doorman::commands::mint_many(&key, &claims, &kid, &ttl, count),
        Command::Token {
            command:
                TokenCommand::Mint {
                    key,
                    claims,
                    kid,
                    ttl,
                    ..
                },
        } => doorman::commands::mint(&key, &claims, &kid, &ttl),
        Command::Token {
            command: TokenCommand::Keygen { out, kid },
        } => doorman::commands::keygen(&out, &kid),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("doorman: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(path: &std::path::Path) -> Result<ExitCode, doorman::commands::CommandError> {
    let config = doorman::config::Config::load(path)?;
    doorman::telemetry::init("info", config.logging.json);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = config.server.workers {
        builder.worker_threads(workers);
    }
    let runtime = builder
        .enable_all()
        .build()
        .map_err(doorman::commands::CommandError::Runtime)?;
    runtime.block_on(doorman::app::run(config, path.to_path_buf()))?;
    Ok(ExitCode::SUCCESS)
}
