//! The command line of `doorman users` (parsed by clap in `main`, run by
//! [`super::command`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct UsersArgs {
    /// A file holding the Clerk secret key [default: [clerk] secret_key, else $CLERK_SECRET_KEY]
    #[arg(long, value_name = "FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// Requests allowed per window, like 1000/10s [default: Clerk's limit for the key: 1000/10s for sk_live_, 100/10s otherwise]
    #[arg(long, value_name = "N/DURATION", global = true)]
    pub rate_limit: Option<String>,
    /// Attempts of one request on 5xx, timeouts and connection errors.
    #[arg(long, default_value_t = 5, global = true)]
    pub attempts: u32,
    /// First wait between attempts (×1.5 each time, at most 60s).
    #[arg(long, default_value = "500ms", global = true)]
    pub backoff: String,
    /// Time allowed for one request.
    #[arg(long, default_value = "10s", global = true)]
    pub timeout: String,
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Write many users' claims from a file (NDJSON, JSON array or CSV).
    Sync(SyncArgs),
    /// Show a user's claims as doorman reads them (and, with --path, the decision).
    Get {
        user: String,
        /// Also explain a request to this path (and query) with these claims.
        #[arg(long)]
        path: Option<String>,
        /// The method of that request.
        #[arg(long, default_value = "GET")]
        method: String,
    },
    /// Write the defaults of a user type ([users.types.T]) where nothing is yet.
    Init {
        user: String,
        #[arg(long = "type", value_name = "T")]
        kind: String,
        /// Overwrite values that are already there.
        #[arg(long)]
        force: bool,
    },
    /// Set the onboarding status and step.
    Onboarding {
        user: String,
        #[arg(long)]
        step: Option<u64>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        total_steps: Option<u64>,
    },
    /// Set the roles (objects with their permissions from [roles] when the catalog has them).
    Roles {
        user: String,
        roles: Vec<String>,
        /// Write role names only, not {name, permissions} objects.
        #[arg(long)]
        plain: bool,
        /// Remove the roles claim.
        #[arg(long, conflicts_with = "roles")]
        clear: bool,
    },
    /// Set the organization object ({id, name, role}) kept in metadata.
    Org {
        user: String,
        #[arg(long, required_unless_present = "clear")]
        id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Remove it.
        #[arg(long, conflicts_with_all = ["id", "name", "role"])]
        clear: bool,
    },
    /// Turn feature flags on or off: NAME=true, NAME=false, NAME=unset.
    Flags {
        user: String,
        #[arg(required = true)]
        flags: Vec<String>,
    },
    /// Check every user's metadata; list those doorman would misread.
    Validate {
        /// One JSON object per user with problems.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The users to write: a file, or - for stdin.
    #[arg(long, value_name = "FILE|-")]
    pub from: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    /// Print each user's change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write one JSON line per user, then a summary line, to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Skip the users a previous --report shows as succeeded or unchanged.
    #[arg(long, value_name = "REPORT")]
    pub resume: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}
