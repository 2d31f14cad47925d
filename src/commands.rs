//! The non-serving commands: `check`, `explain` and `token mint`.
//!
//! Each returns an exit code or a [`CommandError`] whose message is one sentence naming the
//! input and the fix. Output goes to stdout; problems to stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, KeySource};
use crate::dev::mint::{mint as mint_token, SigningKey};
use crate::explain::{explain_with_headers, Explanation, TokenInput};
use crate::jwks::{load_static, KeyStore};
use crate::metrics::Metrics;

/// Why a command failed (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Input(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Start(#[from] crate::app::StartError),
}

/// `doorman check`: prints every problem and warning; exit 1 when invalid.
pub fn check(path: &Path) -> Result<ExitCode, CommandError> {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(ConfigError::Invalid { path, problems }) => {
            eprintln!("{path}: invalid, {} problem(s):", problems.len());
            for p in &problems {
                eprintln!("  error: {p}");
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let mut failed = false;
    let mut warnings = config.warnings.len();
    // Local key sources are read now, so a bad key file is caught before deploying.
    if !matches!(config.clerk.keys, KeySource::JwksUrl(_)) {
        if let Err(e) = load_static(&config.clerk.keys) {
            eprintln!("  error: clerk: {e}");
            failed = true;
        }
    }
    if let Some(settings) = &config.assertion {
        let signed = prometheus_client::metrics::counter::Counter::default();
        match crate::assertion::Assertions::new(settings, None, signed, 0) {
            Err(e) => {
                eprintln!("  error: {e}");
                failed = true;
            }
            Ok(a) if a.generated_keys() => {
                warnings += 1;
                eprintln!(
                    "  warning: assertion.keys: not set, so doorman generates its signing key at start; several replicas would each publish their own key and an application verifying against one replica's JWKS refuses the others' assertions: give every replica the same `keys` files (docs/assertion.md#several-replicas)"
                );
            }
            Ok(_) => {}
        }
    }
    for w in &config.warnings {
        eprintln!("  warning: {w}");
    }
    if failed {
        return Ok(ExitCode::from(1));
    }
    println!(
        "{}: ok ({} routes, {} upstreams, {} warning(s))",
        config.source,
        config.routes.len(),
        config.upstreams.len(),
        warnings
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `doorman explain`.
pub struct ExplainRequest {
    pub config: PathBuf,
    pub token: Option<String>,
    pub claims: Option<String>,
    pub navigate: bool,
    /// `--header "Name: value"`, repeatable.
    pub headers: Vec<String>,
    /// `--cookie "name=value"`, repeatable.
    pub cookies: Vec<String>,
    pub json: bool,
    /// Headers of a forward-auth call: METHOD and PATH are then the call's.
    pub call_headers: Vec<String>,
    pub method: String,
    pub path: String,
}

/// `doorman explain`: prints every check and the decision.
pub fn explain(req: &ExplainRequest) -> Result<ExitCode, CommandError> {
    let config = Config::load(&req.config)?;
    let method =
        http::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            CommandError::Input(format!(
                "{:?} is not an HTTP method; use e.g. GET or POST",
                req.method
            ))
        })?;
    let (method, path, navigate) = if req.call_headers.is_empty() {
        (method, req.path.clone(), req.navigate)
    } else {
        let call = crate::forward_auth::explain::original_of_call(
            &config,
            &method,
            &req.path,
            &req.call_headers,
        )
        .map_err(CommandError::Input)?;
        if !req.json {
            println!(
                "forward-auth call ({}): the original request is {} {}",
                call.dialect, call.method, call.target
            );
        }
        (call.method, call.target, call.navigate || req.navigate)
    };
    let token = match (&req.token, &req.claims) {
        (Some(t), _) => TokenInput::Token(t.trim().to_string()),
        (None, Some(c)) => TokenInput::Claims(read_json_arg(c, "--claims")?),
        (None, None) => TokenInput::None,
    };
    let mut headers = request_headers(&req.headers, &req.cookies)?;
    if navigate {
        headers.insert("sec-fetch-mode", http::HeaderValue::from_static("navigate"));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)?;
    let explanation: Explanation = runtime.block_on(async {
        let keys = KeyStore::new(&config.clerk, Arc::new(Metrics::new()))
            .map_err(|e| CommandError::Input(e.to_string()))?;
        let token_in_request = headers.contains_key(http::header::AUTHORIZATION)
            || crate::token::extract::cookie_value(&headers, &config.clerk.session_cookie).is_some();
        if matches!(token, TokenInput::Token(_)) || (token_in_request && matches!(token, TokenInput::None)) {
            keys.load()
                .await
                .map_err(|e| CommandError::Input(format!("cannot load the signing keys to verify --token: {e}; use --claims to skip verification")))?;
        }
        Ok::<_, CommandError>(
            explain_with_headers(&config, &keys, &SystemClock as &dyn Clock, &method, &path, &token, &headers).await,
        )
    })?;
    if req.json {
        println!("{}", explanation.to_json());
    } else {
        print!("{}", explanation.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// The request headers of `explain`: each `--header "Name: value"`, then the `--cookie`
/// pairs joined into one `Cookie` header.
fn request_headers(
    headers: &[String],
    cookies: &[String],
) -> Result<http::HeaderMap, CommandError> {
    let mut map = http::HeaderMap::new();
    for h in headers {
        let bad = || {
            CommandError::Input(format!(
                "--header {h:?} is not a header; write it like --header \"Accept: text/html\""
            ))
        };
        let (name, value) = h.split_once(':').ok_or_else(bad)?;
        let name = http::HeaderName::try_from(name.trim()).map_err(|_| bad())?;
        let value = http::HeaderValue::try_from(value.trim()).map_err(|_| bad())?;
        map.append(name, value);
    }
    if !cookies.is_empty() {
        for c in cookies {
            if !c.contains('=') {
                return Err(CommandError::Input(format!(
                    "--cookie {c:?} is not a cookie; write it like --cookie \"__session=eyJ…\""
                )));
            }
        }
        let value = http::HeaderValue::try_from(cookies.join("; ")).map_err(|_| {
            CommandError::Input("--cookie values must be visible ASCII".to_string())
        })?;
        map.append(http::header::COOKIE, value);
    }
    Ok(map)
}

/// `doorman token mint`: prints a signed token.
pub fn mint_command(
    key: &Path,
    claims: &str,
    kid: &str,
    ttl: &str,
) -> Result<ExitCode, CommandError> {
    let pem = std::fs::read_to_string(key)
        .map_err(|e| CommandError::Input(format!("cannot read --key {}: {e}", key.display())))?;
    let signing = SigningKey::from_pem(&pem)
        .map_err(|e| CommandError::Input(format!("--key {}: {e}", key.display())))?;
    let ttl = humantime::parse_duration(ttl).map_err(|_| {
        CommandError::Input(format!(
            "--ttl {ttl:?} is not a duration; write e.g. 60s or 5m"
        ))
    })?;
    let mut claims = read_json_arg(claims, "--claims")?;
    let Some(obj) = claims.as_object_mut() else {
        return Err(CommandError::Input(
            "--claims must be a JSON object, like '{\"sub\":\"user_1\",\"sid\":\"sess_1\"}'".into(),
        ));
    };
    let now = SystemClock.now_unix();
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    obj.entry("iat").or_insert(Value::from(now));
    obj.entry("nbf")
        .or_insert(Value::from(now.saturating_sub(10)));
    obj.entry("exp")
        .or_insert(Value::from(now.saturating_add(ttl)));
    let token =
        mint_token(&signing, kid, &claims).map_err(|e| CommandError::Input(e.to_string()))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub use mint_command as mint;

/// `doorman token mint --count N` (hidden, for load tests): prints `count` tokens, the `n`-th
/// with every `{n}` in a claim string replaced by `n`, signed on every core.
pub fn mint_many(
    key: &Path,
    claims: &str,
    kid: &str,
    ttl: &str,
    count: usize,
) -> Result<ExitCode, CommandError> {
    use std::io::Write;
    let pem = std::fs::read_to_string(key)
        .map_err(|e| CommandError::Input(format!("cannot read --key {}: {e}", key.display())))?;
    let signing = SigningKey::from_pem(&pem)
        .map_err(|e| CommandError::Input(format!("--key {}: {e}", key.display())))?;
    let ttl = humantime::parse_duration(ttl).map_err(|_| {
        CommandError::Input(format!(
            "--ttl {ttl:?} is not a duration; write e.g. 60s or 5m"
        ))
    })?;
    let template = read_json_arg(claims, "--claims")?;
    if !template.is_object() {
        return Err(CommandError::Input(
            "--claims must be a JSON object, like '{\"sub\":\"user_{n}\"}'".into(),
        ));
    }
    let now = SystemClock.now_unix();
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(threads);
    let minted: Vec<Result<Vec<String>, CommandError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (signing, template) = (&signing, &template);
                scope.spawn(move || {
                    let first = t * chunk + 1;
                    let last = ((t + 1) * chunk).min(count);
                    (first..=last)
                        .map(|n| {
                            let mut claims = numbered(template, n);
                            if let Some(obj) = claims.as_object_mut() {
                                obj.entry("iat").or_insert(Value::from(now));
                                obj.entry("nbf")
                                    .or_insert(Value::from(now.saturating_sub(10)));
                                obj.entry("exp")
                                    .or_insert(Value::from(now.saturating_add(ttl)));
                            }
                            mint_token(signing, kid, &claims)
                                .map_err(|e| CommandError::Input(e.to_string()))
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(CommandError::Input("a minting thread failed".into())))
            })
            .collect()
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for tokens in minted {
        for token in tokens? {
            writeln!(out, "{token}").map_err(|e| CommandError::Input(e.to_string()))?;
        }
    }
    out.flush()
        .map_err(|e| CommandError::Input(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

/// `value` with `{n}` replaced by `n` in every string.
fn numbered(value: &Value, n: usize) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace("{n}", &n.to_string())),
        Value::Array(items) => Value::Array(items.iter().map(|v| numbered(v, n)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbered(v, n)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `doorman token keygen`: writes a new private key and prints its JWKS (for local tests).
pub fn keygen(out: &Path, kid: &str) -> Result<ExitCode, CommandError> {
    let key = SigningKey::generate_2048().map_err(|e| CommandError::Input(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| CommandError::Input(e.to_string()))?;
    write_private(out, pem.as_bytes())?;
    println!("{}", crate::dev::mint::jwks_json(&[(&key, kid)]));
    Ok(ExitCode::SUCCESS)
}

/// Creates `out` (never overwriting) readable by its owner only (mode 0600 on Unix, set
/// at creation, so the key is never readable by others even for a moment).
fn write_private(out: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| {
        CommandError::Input(if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{} already exists; pick another --out or remove it",
                out.display()
            )
        } else {
            format!("cannot create {}: {e}", out.display())
        })
    })?;
    file.write_all(bytes)
        .map_err(|e| CommandError::Input(format!("cannot write {}: {e}", out.display())))
}

/// Reads a JSON argument given inline or as `@FILE`.
fn read_json_arg(arg: &str, flag: &str) -> Result<Value, CommandError> {
    let text = match arg.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| CommandError::Input(format!("cannot read {flag} file {file}: {e}")))?,
        None => arg.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| {
        CommandError::Input(format!(
            "{flag} is not valid JSON ({e}); quote it in single quotes or pass @FILE"
        ))
    })
}
