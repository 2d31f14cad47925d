//! The `doorman` binary as an operator runs it: a config file on disk, a real process,
//! signals.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use doorman::dev::mint::jwks_json;

use super::{key, Client, BASE_CONFIG, KID};

/// The `doorman` binary built for these tests, as a command to run.
pub fn doorman() -> Command {
    Command::new(env!("CARGO_BIN_EXE_doorman"))
}

/// `doorman token keygen --kid KID --out KEY`: writes the private key to `key` and returns
/// the JWKS it prints.
pub fn keygen(key: &std::path::Path, kid: &str) -> Vec<u8> {
    let out = doorman()
        .args(["token", "keygen", "--kid", kid, "--out"])
        .arg(key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "doorman-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Process {
    pub child: std::process::Child,
    pub addr: String,
    pub admin: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the `doorman` binary with [`BASE_CONFIG`] using a JWKS file of the test key,
/// `upstream`, and `extra` appended to the config. Stderr is captured (read it or keep the
/// test's logging small).
pub fn spawn_binary(upstream: &str, extra: &str, extra_env: &[(&str, &str)]) -> Process {
    let dir = temp_dir("bin");
    std::fs::write(dir.join("jwks.json"), jwks_json(&[(key(), KID)])).unwrap();
    let port = |l: std::net::TcpListener| l.local_addr().unwrap().port();
    let (p1, p2) = (
        port(std::net::TcpListener::bind("127.0.0.1:0").unwrap()),
        port(std::net::TcpListener::bind("127.0.0.1:0").unwrap()),
    );
    let config = BASE_CONFIG
        .replace(
            "admin_listen = \"127.0.0.1:0\"",
            &format!("admin_listen = \"127.0.0.1:{p2}\""),
        )
        .replace(
            "\nlisten = \"127.0.0.1:0\"",
            &format!("\nlisten = \"127.0.0.1:{p1}\""),
        )
        .replace(
            "jwks_url = \"${JWKS_URL}\"",
            &format!("jwks_file = \"{}\"", dir.join("jwks.json").display()),
        )
        .replace("${UPSTREAM_URL}", upstream)
        .replace("shutdown_grace = \"2s\"", "shutdown_grace = \"5s\"");
    let path = dir.join("doorman.toml");
    std::fs::write(&path, format!("{config}{extra}")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_doorman"));
    cmd.arg("--config")
        .arg(&path)
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    Process {
        child,
        addr: format!("127.0.0.1:{p1}"),
        admin: format!("127.0.0.1:{p2}"),
    }
}

/// Polls `/readyz` until 200, with a deadline.
pub async fn wait_ready(admin: &str) {
    let client = Client::new(admin.parse().unwrap());
    for _ in 0..1000 {
        if tokio::net::TcpStream::connect(admin).await.is_ok()
            && client.get("/readyz").await.status == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("doorman at {admin} never became ready");
}

pub fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
