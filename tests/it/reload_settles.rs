//! Hot reload settles: after one edit an idle doorman stops reading its config, and an
//! invalid file is rejected (logged, counted) once, not four times a second for ever.
//!
//! Regression test for issue 17: the watcher reacted to the open/close events of its own
//! reads, so every reload scheduled the next. Reads are observed through
//! `doorman_config_reads_total` (the reloader counts each read of the file). The idle window
//! is real time: nothing but waiting shows that a file watcher stays quiet, and it is a few
//! debounce periods long.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use doorman::app::{self, Options};
use doorman::clock::ManualClock;
use doorman::config::Config;
use doorman::dev::echo::Echo;

use crate::support::process::temp_dir;
use crate::support::{key, JwksServer, BASE_CONFIG, KID, NOW};

/// Long enough for several debounce periods (250 ms each) of a looping watcher.
const IDLE_WINDOW: Duration = Duration::from_millis(2_000);

struct Watched {
    running: app::Running,
    path: PathBuf,
    text: String,
    _echo: Echo,
    _jwks: JwksServer,
}

async fn start_watched() -> Watched {
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let text = BASE_CONFIG
        .replace("${JWKS_URL}", &jwks.url())
        .replace("${UPSTREAM_URL}", &format!("http://{}", echo.addr));
    let path = temp_dir("settle").join("doorman.toml");
    std::fs::write(&path, &text).unwrap();
    let running = app::start(
        Config::load(&path).unwrap(),
        Options {
            clock: Arc::new(ManualClock::new(NOW)),
            config_path: Some(path.clone()),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    assert!(running.wait_ready(Duration::from_secs(10)).await);
    Watched {
        running,
        path,
        text,
        _echo: echo,
        _jwks: jwks,
    }
}

impl Watched {
    fn reads(&self) -> u64 {
        self.running.shared.metrics.config_reads.get()
    }

    fn reloads(&self, result: &'static str) -> u64 {
        self.running
            .shared
            .metrics
            .config_reloads
            .get_or_create(&doorman::metrics::ResultLabel { result })
            .get()
    }

    /// Waits (polling, with a deadline) until `done` holds.
    async fn until(&self, what: &str, done: impl Fn(&Watched) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn an_idle_doorman_stops_reading_its_config_after_one_edit() {
    let w = start_watched().await;
    assert_eq!(w.reads(), 0, "nothing was edited yet");
    let before = w.running.shared.snapshot.load().config.hash.clone();
    std::fs::write(
        &w.path,
        format!(
            "{}\n[[routes]]\nname = \"extra\"\npath = \"/extra/**\"\n",
            w.text
        ),
    )
    .unwrap();
    w.until("the edit to be loaded", |w| {
        w.running.shared.snapshot.load().config.hash != before
    })
    .await;
    let after_edit = w.reads();
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle = w.reads() - after_edit;
    assert_eq!(
        idle, 0,
        "an idle doorman read its config {idle} time(s) in {IDLE_WINDOW:?} after one edit"
    );
    assert!(after_edit <= 2, "one edit caused {after_edit} reads");
    assert_eq!(w.reloads("ok"), 1);
    assert_eq!(w.reloads("error"), 0);
}

#[tokio::test]
async fn an_invalid_file_is_rejected_once_and_then_left_alone() {
    let w = start_watched().await;
    std::fs::write(&w.path, format!("{}\n[server]\nbogus = 1\n", w.text)).unwrap();
    w.until("the invalid file to be rejected", |w| {
        w.reloads("error") >= 1
    })
    .await;
    let reads = w.reads();
    tokio::time::sleep(IDLE_WINDOW).await;
    assert_eq!(
        w.reloads("error"),
        1,
        "the same invalid file was rejected again"
    );
    assert_eq!(w.reads(), reads, "an invalid file kept being read");
    // Fixing the file is seen, and the fix loads.
    std::fs::write(&w.path, &w.text).unwrap();
    w.until("the fixed file to be read", |w| w.reads() > reads)
        .await;
    assert_eq!(w.reloads("error"), 1);
}

#[tokio::test]
async fn sighup_style_forced_reloads_read_once_each() {
    let w = start_watched().await;
    for n in 1..=3 {
        w.running.reload().await.unwrap().unwrap();
        assert_eq!(w.reads(), n);
    }
}
