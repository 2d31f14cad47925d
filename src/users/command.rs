//! Running `doorman users …`: the config and secret key loaded, the client built, the
//! subcommand run, its outcome printed and mapped to an exit code (0 done, 1 any user failed
//! or invalid input).

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

use super::args::{SyncArgs, UsersArgs, UsersCommand};
use super::client::{Api, Policy, SecretKey};
use super::fields::{Field, Values};
use super::layout::Layout;
use super::limiter::{Backoff, RateLimit};
use super::progress::{Mode, Progress};
use super::{input, ops, sync, validate};
use crate::commands::CommandError;
use crate::config::Config;

/// `doorman users …` with the config at `config_path`.
pub fn run(config_path: &Path, args: UsersArgs) -> Result<ExitCode, CommandError> {
    let config = Config::load(config_path)?;
    let layout = Layout::new(&config.claims, &config.users)
        .map_err(|p| CommandError::Input(p.join("; ")))?;
    let key = secret_key(&config, args.secret_key_file.as_deref())?;
    let policy = policy(&args, &key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)?;
    runtime.block_on(async {
        let api = Api::new(
            &config.clerk.api_url,
            &key,
            policy,
            config.clerk.ca_file.as_deref(),
        )
        .map_err(CommandError::Input)?;
        dispatch(&api, &layout, &config, args.command).await
    })
}

async fn dispatch(
    api: &Api,
    layout: &Layout,
    config: &Config,
    command: UsersCommand,
) -> Result<ExitCode, CommandError> {
    let fail = |e: super::client::ApiError| CommandError::Input(e.to_string());
    let written = match command {
        UsersCommand::Sync(a) => return run_sync(api, layout, a).await,
        UsersCommand::Validate { json } => {
            let mut out = std::io::stdout().lock();
            let complete = &config.claims.onboarding_complete_values;
            let (checked, bad) =
                validate::run(api, layout, &config.users, complete, json, &mut out)
                    .await
                    .map_err(fail)?;
            eprintln!("{checked} users checked, {bad} with problems");
            return Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        UsersCommand::Get { user, path, method } => {
            let method =
                http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                    CommandError::Input(format!("{method:?} is not an HTTP method; use e.g. GET"))
                })?;
            let request = path.as_deref().map(|p| (&method, p));
            print!(
                "{}",
                ops::get(api, layout, config, &user, request)
                    .await
                    .map_err(fail)?
            );
            return Ok(ExitCode::SUCCESS);
        }
        UsersCommand::Init { user, kind, force } => (
            user.clone(),
            ops::init(api, layout, config, &user, &kind, force).await,
        ),
        UsersCommand::Onboarding {
            user,
            step,
            status,
            total_steps,
        } => {
            if let Some(s) = &status {
                if !config.users.onboarding_statuses.contains(s) {
                    return Err(CommandError::Input(format!(
                        "--status {s:?} is not one of {}; add it to [users] onboarding_statuses if it is meant",
                        config.users.onboarding_statuses.join(", ")
                    )));
                }
            }
            let mut values = Values::default();
            let fields = [
                (Field::OnboardingStep, step.map(Value::from)),
                (Field::OnboardingStatus, status.map(Value::from)),
                (Field::OnboardingTotalSteps, total_steps.map(Value::from)),
            ];
            values
                .fields
                .extend(fields.into_iter().filter_map(|(f, v)| Some((f, v?))));
            if values.is_empty() {
                return Err(CommandError::Input(
                    "nothing to write; give --step, --status or --total-steps".into(),
                ));
            }
            (user.clone(), ops::set(api, layout, &user, values).await)
        }
        UsersCommand::Roles {
            user,
            roles,
            plain,
            clear,
        } => {
            let value = if clear {
                Value::Null
            } else {
                roles_value(config, &roles, plain)?
            };
            let values = Values {
                fields: [(Field::Roles, value)].into(),
                ..Values::default()
            };
            (user.clone(), ops::set(api, layout, &user, values).await)
        }
        UsersCommand::Org {
            user,
            id,
            name,
            role,
            clear,
        } => {
            let value = if clear {
                Value::Null
            } else {
                ops::organization(id, name, role)
            };
            let values = Values {
                fields: [(Field::Organization, value)].into(),
                ..Values::default()
            };
            (user.clone(), ops::set(api, layout, &user, values).await)
        }
        UsersCommand::Flags { user, flags } => {
            (user.clone(), ops::flags(api, layout, &user, &flags).await)
        }
    };
    let (user, result) = written;
    println!("{}", result.map_err(fail)?.line(&user));
    Ok(ExitCode::SUCCESS)
}

async fn run_sync(api: &Api, layout: &Layout, a: SyncArgs) -> Result<ExitCode, CommandError> {
    let (text, source) = if a.from == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CommandError::Input(format!("cannot read the users from stdin: {e}")))?;
        (text, "stdin".to_string())
    } else {
        let text = std::fs::read_to_string(&a.from)
            .map_err(|e| CommandError::Input(format!("cannot read --from {}: {e}", a.from)))?;
        (text, a.from.clone())
    };
    let records = input::parse(&text, &source).map_err(|problems| {
        CommandError::Input(format!(
            "{} problem(s) in the input, nothing was written:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    })?;
    let mut progress = if a.quiet {
        Progress::new(Mode::Quiet, records.len())
    } else {
        Progress::for_stderr(records.len())
    };
    let options = sync::Options {
        concurrency: a.concurrency,
        dry_run: a.dry_run,
        report: a.report,
        resume: a.resume,
    };
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let summary = sync::run(
        api,
        layout,
        records,
        &options,
        &mut progress,
        &mut stdout,
        stop,
    )
    .await
    .map_err(CommandError::Input)?;
    eprintln!("{}", summary.line());
    if summary.interrupted {
        match &options.report {
            Some(report) => eprintln!("interrupted: run again with --resume {} (and a new --report) to continue where it stopped", report.display()),
            None => eprintln!("interrupted: without --report there is nothing to resume from; run again with --report FILE (finished users come out unchanged)"),
        }
    }
    Ok(if summary.failed == 0 && !summary.interrupted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Roles as the marketplace stores them: `{name, permissions}` from `[roles]`, or names.
fn roles_value(config: &Config, roles: &[String], plain: bool) -> Result<Value, CommandError> {
    if plain || config.roles.is_empty() {
        return Ok(json!(roles));
    }
    roles
        .iter()
        .map(|name| match config.roles.get(name) {
            Some(permissions) => Ok(json!({"name": name, "permissions": permissions})),
            None => Err(CommandError::Input(format!(
                "role {name:?} is not in the [roles] catalog; add it there, or pass --plain to write role names only"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// `--secret-key-file`, else `[clerk] secret_key`, else `$CLERK_SECRET_KEY`.
fn secret_key(config: &Config, file: Option<&Path>) -> Result<SecretKey, CommandError> {
    let key = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CommandError::Input(format!("cannot read --secret-key-file {}: {e}", path.display()))
        })?,
        None => match (&config.clerk.secret_key, std::env::var("CLERK_SECRET_KEY")) {
            (Some(key), _) => key.clone(),
            (None, Ok(key)) => key,
            (None, Err(_)) => {
                return Err(CommandError::Input(
                    "no Clerk secret key: set CLERK_SECRET_KEY, or [clerk] secret_key = \"${CLERK_SECRET_KEY}\", or pass --secret-key-file".into(),
                ))
            }
        },
    };
    let key = SecretKey::new(key);
    if !(key.expose().starts_with("sk_live_") || key.expose().starts_with("sk_test_")) {
        return Err(CommandError::Input(
            "the Clerk secret key does not start with sk_live_ or sk_test_; copy it from the dashboard (API keys)".into(),
        ));
    }
    Ok(key)
}

fn policy(args: &UsersArgs, key: &SecretKey) -> Result<Policy, CommandError> {
    let duration = |flag: &str, text: &str| {
        humantime::parse_duration(text).map_err(|_| {
            CommandError::Input(format!(
                "{flag} {text:?} is not a duration; write e.g. 500ms or 10s"
            ))
        })
    };
    let mut policy = Policy::for_key(key);
    if let Some(rate) = &args.rate_limit {
        policy.rate = RateLimit::parse(rate)
            .map_err(|e| CommandError::Input(format!("--rate-limit: {e}")))?;
    }
    policy.attempts = args.attempts.max(1);
    policy.backoff = Backoff {
        first: duration("--backoff", &args.backoff)?,
        max: Duration::from_secs(60),
    };
    policy.timeout = duration("--timeout", &args.timeout)?;
    Ok(policy)
}
