//! h2c upgrade smuggling against a real h2c-speaking upstream: Hypercorn (Python ASGI) with
//! the tiny app in `tests/fixtures/h2c_app.py`, which records every path it serves.
//!
//! A control first shows that Hypercorn, asked directly, answers `Upgrade: h2c` with 101 and
//! then serves HTTP/2 requests for any path on that connection. Through doorman (plain and
//! TLS listener) the same bytes must never get a 101, and the HTTP/2 request for
//! `/api/admin/…` must never reach the app.
//!
//! Hypercorn comes from PyPI (`python3 -m pip install hypercorn`; `.ci/run` installs it).
//! Without it the test is skipped with a note, unless `CI` is set: then it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::class07_upgrades::{
    connect, doorman_in_front_of, h2c_upgrade, http2_for_admin, read_response, read_rest, status,
    Conn,
};
use crate::edge::pki;
use crate::support::eventually;
use crate::support::process::temp_dir;

/// True when `python3 -m hypercorn` can run. Missing on a developer machine: skipped with a
/// note; missing in CI (`CI` set): a failure, since `.ci/run` installs it.
fn hypercorn_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import hypercorn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "hypercorn is not installed; .ci/run installs it (python3 -m pip install hypercorn)"
        );
        eprintln!("skipped: hypercorn is not installed (python3 -m pip install hypercorn, or run .ci/run)");
    }
    found
}

/// A Hypercorn process serving the fixture app on a loopback port; killed on drop.
struct Hypercorn {
    child: Child,
    port: u16,
    /// The file the app appends "<http version> <path>" to for every request.
    paths: PathBuf,
    stderr: PathBuf,
}

impl Hypercorn {
    fn start() -> Hypercorn {
        let dir = temp_dir("hypercorn");
        let paths = dir.join("paths.log");
        let stderr = dir.join("stderr.log");
        std::fs::write(&paths, "").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let child = Command::new("python3")
            .args(["-m", "hypercorn", "--workers", "1", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("h2c_app:app")
            .current_dir(fixtures)
            .env("DOORMAN_TEST_PATHS", &paths)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn python3 -m hypercorn");
        Hypercorn {
            child,
            port,
            paths,
            stderr,
        }
    }

    /// Polls the port until Hypercorn accepts connections (or exits, or 30 s pass).
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("hypercorn exited ({exit}): {}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("hypercorn never listened on {}: {}", self.port, self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The requests the app served, as "<http version> <path>" lines.
    fn served(&self) -> String {
        std::fs::read_to_string(&self.paths).unwrap_or_default()
    }

    async fn has_served(&self, line: &str) -> bool {
        eventually(Duration::from_secs(5), || async {
            self.served().contains(line)
        })
        .await
    }
}

impl Drop for Hypercorn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn h2c_upgrade_through_doorman_never_reaches_hypercorn_as_http2() {
    if !hypercorn_available() {
        return;
    }
    let mut hypercorn = Hypercorn::start();
    hypercorn.wait_ready().await;

    // Control: asked directly, Hypercorn switches and serves HTTP/2 for any path.
    let tcp = TcpStream::connect(("127.0.0.1", hypercorn.port))
        .await
        .unwrap();
    let mut direct: Box<dyn Conn> = Box::new(tcp);
    direct
        .write_all(h2c_upgrade("/public/direct", true).as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut *direct).await;
    assert_eq!(
        status(&response),
        Some(101),
        "the control needs an h2c-speaking upstream: {response}"
    );
    direct.write_all(&http2_for_admin()).await.unwrap();
    assert!(
        hypercorn.has_served("2 /api/admin/users").await,
        "control: Hypercorn did not serve the HTTP/2 request after its 101: {}\n{}",
        hypercorn.served(),
        hypercorn.log()
    );
    drop(direct);
    std::fs::write(&hypercorn.paths, "").unwrap();

    // Through doorman, on the plain and on the TLS listener.
    let pki = pki();
    for tls in [None, Some(&pki)] {
        let listener = if tls.is_some() { "tls" } else { "plain" };
        let url = format!("http://127.0.0.1:{}", hypercorn.port);
        let h = doorman_in_front_of(url, tls).await;
        let mut conn = connect(&h, tls).await;
        conn.write_all(h2c_upgrade("/public/x", true).as_bytes())
            .await
            .unwrap();
        let response = read_response(&mut *conn).await;
        assert_eq!(status(&response), Some(200), "{listener}: {response}");
        assert!(
            response.ends_with("1.1 /public/x\n"),
            "{listener}: served as a plain HTTP/1.1 request: {response}"
        );
        let _ = conn.write_all(&http2_for_admin()).await;
        let rest = read_rest(&mut *conn, Duration::from_secs(1)).await;
        assert!(
            !String::from_utf8_lossy(&rest).contains(" 101 "),
            "{listener}: a 101 reached the client"
        );
        // A later request on a new connection is served: what the attack sent was not
        // merely late.
        let mut later = connect(&h, tls).await;
        later
            .write_all(b"GET /public/later HTTP/1.1\r\nHost: shop.test\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut *later).await;
        assert_eq!(status(&response), Some(200), "{listener}: {response}");
        assert!(hypercorn.has_served("1.1 /public/later").await);
        let served = hypercorn.served();
        assert!(
            !served.contains("/api/admin"),
            "{listener}: the smuggled HTTP/2 request reached the app:\n{served}"
        );
        assert!(
            !served.lines().any(|l| l.starts_with("2 ")),
            "{listener}: the app served HTTP/2 through doorman:\n{served}"
        );
    }
}
