//! `doorman demo`: the whole flow on loopback, with nothing to set up.
//!
//! Generates an RSA signing key, serves its JWKS over HTTP, starts the echo upstream, and
//! runs the proxy with the repository's `config.toml` rules (embedded at build time) pointed
//! at them. It then sends one request per scenario, prints what happened, and prints
//! ready-to-paste `curl` commands with tokens for several personas. Ctrl-C stops everything.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderValue, Response};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::app::{self, Options};
use crate::commands::CommandError;
use crate::config::{Config, KeySource, Scheme};
use crate::dev::echo::Echo;
use crate::dev::mint::{jwks_json, SigningKey};
use crate::respond::full;

/// The repository's route table, embedded so the demo runs from any directory.
mod script;

use script::{personas, scenarios, Persona, Scenario};

pub const EMBEDDED_CONFIG: &str = include_str!("../../config.toml");

const ISSUER: &str = "https://clerk.marketplace.example";
const KID: &str = "ins_demo";

/// Runs the demo until Ctrl-C (or once, with `--once`).
pub fn main(listen: &str, admin_listen: &str, once: bool) -> Result<ExitCode, CommandError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)?;
    runtime.block_on(run(listen, admin_listen, once))
}

async fn run(listen: &str, admin_listen: &str, once: bool) -> Result<ExitCode, CommandError> {
    let parse_addr = |flag: &str, v: &str| {
        v.parse::<SocketAddr>().map_err(|_| {
            CommandError::Input(format!("{flag} {v:?} is not IP:PORT, e.g. 127.0.0.1:8080"))
        })
    };
    let listen = parse_addr("--listen", listen)?;
    let admin_listen = parse_addr("--admin-listen", admin_listen)?;
    let key = SigningKey::generate_2048().map_err(|e| CommandError::Input(e.to_string()))?;
    let jwks_addr = serve_jwks(jwks_json(&[(&key, KID)])).await?;
    let echo = Echo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| CommandError::Input(format!("cannot start the echo upstream: {e}")))?;
    let mut config = Config::parse(EMBEDDED_CONFIG, "config.toml (embedded)", &|_| None)?;
    config.clerk.verify.issuer = ISSUER.to_string();
    config.clerk.keys = KeySource::JwksUrl(format!("http://{jwks_addr}/.well-known/jwks.json"));
    for upstream in &mut config.upstreams {
        upstream.scheme = Scheme::Http;
        upstream.authority = echo.addr.to_string();
        upstream.path_prefix.clear();
    }
    config.server.listen = listen;
    config.server.admin_listen = admin_listen;
    let running = app::start(config, Options::default()).await?;
    if !running.wait_ready(Duration::from_secs(10)).await {
        return Err(CommandError::Input(
            "the demo JWKS could not be loaded within 10s".into(),
        ));
    }
    let personas = personas(&key)?;
    let base = format!("http://{}", running.addr);
    println!(
        "doorman demo: proxy on {base}, admin on http://{}, echo upstream on {}",
        running.admin_addr, echo.addr
    );
    println!("rules: the repository's config.toml; signing key generated now (kid {KID}), JWKS on http://{jwks_addr}\n");
    for (i, p) in personas.iter().enumerate() {
        println!("persona {}: {}", i + 1, p.name);
    }
    println!();
    let mut all_ok = true;
    for s in scenarios() {
        let (status, detail) = send(&base, &s, &personas).await;
        let ok = s.expect.starts_with(&status.to_string());
        all_ok &= ok;
        println!(
            "{} {:<6} {:<28} as {:<34} → {status} {detail}",
            if ok { "✓" } else { "✗" },
            s.method,
            s.path,
            s.persona
                .and_then(|i| personas.get(i))
                .map_or("anonymous", |p| p.name)
        );
        println!("    {} (expected {})", s.what, s.expect);
    }
    println!("\nTry it yourself (tokens live 10 minutes):");
    if let Some(p) = personas.first() {
        println!(
            "  curl -i {base}/dashboard -H 'Authorization: Bearer {}'",
            p.token
        );
    }
    println!("  curl -i {base}/dashboard -H 'Accept: text/html'            # redirect to sign-in");
    if let Some(p) = personas.get(1) {
        println!("  curl -i {base}/api/projects -H 'Authorization: Bearer {}'   # 403 onboarding_required", p.token);
    }
    if let Some(p) = personas.get(2) {
        println!("  curl -i -X POST {base}/api/projects -H 'Authorization: Bearer {}'   # vendor admin creates a project", p.token);
    }
    if let Some(p) = personas.get(3) {
        println!(
            "  curl -i {base}/api/projects -H 'Authorization: Bearer {}'   # 401 token_expired",
            p.token
        );
    }
    println!(
        "  curl -s http://{}/metrics | grep doorman_requests_total",
        running.admin_addr
    );
    if once {
        running.shutdown().await;
        return Ok(if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    println!("\nCtrl-C stops the demo.");
    app::wait_for_signal().await;
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn send(base: &str, s: &Scenario, personas: &[Persona]) -> (u16, String) {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::builder()
        .method(s.method)
        .uri(format!("{base}{}", s.path));
    if s.page {
        req = req
            .header(header::ACCEPT, "text/html")
            .header("sec-fetch-mode", "navigate");
    } else {
        req = req.header(header::ACCEPT, "application/json");
    }
    if let Some(p) = s.persona.and_then(|i| personas.get(i)) {
        req = req.header(header::AUTHORIZATION, format!("Bearer {}", p.token));
    }
    let Ok(req) = req.body(Empty::new()) else {
        return (0, "could not build the request".into());
    };
    let resp = match client.request(req).await {
        Ok(r) => r,
        Err(e) => return (0, format!("request failed: {e}")),
    };
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let detail = if let Some(l) = location {
        format!("Location: {l}")
    } else if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        if v.get("upstream").is_some() {
            let user = v
                .pointer("/headers/x-user-id")
                .and_then(Value::as_str)
                .unwrap_or("-");
            format!("forwarded, upstream saw X-User-Id: {user}")
        } else {
            v.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        }
    } else {
        // An HTML error page names its reason in a <small> line.
        let html = String::from_utf8_lossy(&body);
        html.split("reason: ")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or("")
            .to_string()
    };
    (status, detail)
}

async fn serve_jwks(jwks: String) -> Result<SocketAddr, CommandError> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| CommandError::Input(format!("cannot start the demo JWKS server: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CommandError::Input(e.to_string()))?;
    let jwks = Arc::new(jwks);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let jwks = jwks.clone();
            let service = service_fn(move |_req| {
                let jwks = jwks.clone();
                async move {
                    let mut resp = Response::new(full(jwks.as_bytes().to_vec()));
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(resp)
                }
            });
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}
