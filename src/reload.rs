//! Hot reload: SIGHUP and changes to the config file swap in a new compiled config.
//!
//! A reload reads and compiles the file; an invalid config (or keys that cannot be loaded
//! from a changed key source) is rejected whole and the old snapshot keeps serving. A valid
//! one becomes a new [`Snapshot`], swapped atomically: requests in flight finish under the
//! snapshot they loaded. Keys and upstream pools are carried over when their settings did
//! not change. Listener addresses cannot change without a restart; that is reported.
//! File changes are watched with `notify` (the parent directory, so a Kubernetes ConfigMap's
//! symlink swap is seen) and debounced. Only events that can change the file's content
//! (create, write, rename, remove) trigger a reload: reading the file opens and closes it,
//! and reacting to those access events made every reload trigger the next one. A file
//! that was rejected is not rejected again (nor logged, nor counted) until its text changes.
//! Every read of the file counts in `doorman_config_reads_total`, so an idle doorman can be
//! seen to stay idle.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::metrics::ResultLabel;
use crate::snapshot::{build_snapshot, BuildError, Shared};

/// Quiet time after a file event before reloading (editors write in several steps).
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Why a reload was rejected (the previous config keeps serving).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("switching HTTPS on or off (server.tls_cert) needs a restart; the listener keeps its current mode")]
    TlsModeChanged,
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new config is serving.
    Loaded {
        hash: String,
        /// Settings that changed but need a restart to take effect.
        needs_restart: Vec<String>,
    },
    /// The file is the config already serving.
    Unchanged,
}

/// Reloads one config file into the shared state.
pub struct Reloader {
    path: PathBuf,
    shared: Arc<Shared>,
    /// One reload at a time; holds a digest of the last text that was rejected.
    lock: Mutex<Option<u64>>,
}

impl Reloader {
    pub fn new(path: PathBuf, shared: Arc<Shared>) -> Self {
        Reloader {
            path,
            shared,
            lock: Mutex::new(None),
        }
    }

    /// The watched file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reloads now. `force` reloads even when the file did not change (SIGHUP).
    pub async fn reload(&self, force: bool) -> Result<Outcome, ReloadError> {
        let mut last_rejected = self.lock.lock().await;
        let text = match self.read() {
            Ok(text) => text,
            Err(e) => return self.count(Err(e)),
        };
        let digest = digest(&text);
        if !force && *last_rejected == Some(digest) {
            // The same invalid text again: it was logged and counted once already.
            return Ok(Outcome::Unchanged);
        }
        let result = self.try_reload(&text, force).await;
        *last_rejected = result.is_err().then_some(digest);
        self.count(result)
    }

    /// Reads the file, counting the read.
    fn read(&self) -> Result<String, ReloadError> {
        self.shared.metrics.config_reads.inc();
        std::fs::read_to_string(&self.path).map_err(|source| {
            ReloadError::Config(crate::config::ConfigError::Read {
                path: crate::config::absolute(&self.path).display().to_string(),
                source,
            })
        })
    }

    /// Logs and counts the outcome of one reload.
    fn count(&self, result: Result<Outcome, ReloadError>) -> Result<Outcome, ReloadError> {
        let label = match &result {
            Ok(Outcome::Loaded {
                hash,
                needs_restart,
            }) => {
                tracing::info!(config = %self.path.display(), %hash, "config reloaded");
                for what in needs_restart {
                    tracing::warn!(
                        "config reload: {what} changed; restart doorman for it to take effect"
                    );
                }
                "ok"
            }
            Ok(Outcome::Unchanged) => return result,
            Err(e) => {
                tracing::error!(config = %self.path.display(), "config reload rejected, the previous config keeps serving: {e}");
                "error"
            }
        };
        self.shared
            .metrics
            .config_reloads
            .get_or_create(&ResultLabel { result: label })
            .inc();
        result
    }

    async fn try_reload(&self, text: &str, force: bool) -> Result<Outcome, ReloadError> {
        let config = Config::from_file_text(text, &self.path)?;
        let old = self.shared.snapshot.load_full();
        if !force && config.hash == old.config.hash {
            return Ok(Outcome::Unchanged);
        }
        let mut needs_restart = Vec::new();
        if config.server.listen != old.config.server.listen {
            needs_restart.push(format!(
                "server.listen ({} → {})",
                old.config.server.listen, config.server.listen
            ));
        }
        if config.server.admin_listen != old.config.server.admin_listen {
            needs_restart.push(format!(
                "server.admin_listen ({} → {})",
                old.config.server.admin_listen, config.server.admin_listen
            ));
        }
        if config.server.tls.is_some() != old.config.server.tls.is_some() {
            // The listener is plain or TLS for its whole life: refuse rather than switch it.
            return Err(ReloadError::TlsModeChanged);
        }
        if config.revocation != old.config.revocation {
            needs_restart.push("[revocation]".to_string());
        }
        if config.telemetry != old.config.telemetry {
            needs_restart.push("[telemetry]".to_string());
        }
        if config.server.workers != old.config.server.workers {
            needs_restart.push("server.workers".to_string());
        }
        for w in &config.warnings {
            tracing::warn!("config: {w}");
        }
        let hash = config.hash.clone();
        let snapshot =
            build_snapshot(config, &self.shared.metrics, &self.shared.clock, Some(&old)).await?;
        self.shared.snapshot.store(Arc::new(snapshot));
        self.shared
            .metrics
            .set_config(&hash, Some(&old.config.hash));
        Ok(Outcome::Loaded {
            hash,
            needs_restart,
        })
    }
}

/// Starts the reload triggers: file changes (when `watch`) and SIGHUP (when `sighup`).
/// They stop when `shutdown` turns true.
pub fn spawn_triggers(
    reloader: Arc<Reloader>,
    watch_file: bool,
    sighup: bool,
    shutdown: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if sighup {
        tasks.push(tokio::spawn(on_sighup(reloader.clone(), shutdown.clone())));
    }
    if watch_file {
        match watch_events(reloader.path()) {
            Ok((watcher, events)) => {
                tasks.push(tokio::spawn(on_file_change(
                    reloader, watcher, events, shutdown,
                )));
            }
            Err(e) => {
                tracing::warn!(config = %reloader.path().display(), "cannot watch the config file ({e}); reload with SIGHUP")
            }
        }
    }
    tasks
}

#[cfg(unix)]
async fn on_sighup(reloader: Arc<Reloader>, mut shutdown: watch::Receiver<bool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload by editing the config file");
        return;
    };
    loop {
        tokio::select! {
            got = hup.recv() => {
                if got.is_none() { return; }
                let _ = reloader.reload(true).await;
            }
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(not(unix))]
async fn on_sighup(_reloader: Arc<Reloader>, _shutdown: watch::Receiver<bool>) {}

type Watcher = notify::RecommendedWatcher;

/// Whether a file event can change what the file holds. Opening and closing a file (which
/// every reload does) must not count, or each reload schedules the next.
pub fn changes_content(kind: &notify::EventKind) -> bool {
    use notify::event::{EventKind, ModifyKind};
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

/// A digest of config text, to recognise a file already rejected.
fn digest(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Watches the file's directory; sends a unit for every event that may concern the file.
fn watch_events(path: &Path) -> Result<(Watcher, mpsc::Receiver<()>), String> {
    use notify::Watcher as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path.file_name().map(|n| n.to_os_string());
    let (tx, rx) = mpsc::channel(16);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // The file itself, or a ConfigMap's `..data` symlink swap; never our own reads.
        let relevant = changes_content(&event.kind)
            && event.paths.iter().any(|p| {
                p.file_name()
                    .is_some_and(|f| Some(f.to_os_string()) == name || f == "..data")
            });
        if relevant {
            let _ = tx.try_send(());
        }
    })
    .map_err(|e| e.to_string())?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| e.to_string())?;
    Ok((watcher, rx))
}

async fn on_file_change(
    reloader: Arc<Reloader>,
    watcher: Watcher,
    mut events: mpsc::Receiver<()>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _keep_watching = watcher;
    loop {
        tokio::select! {
            got = events.recv() => {
                if got.is_none() { return; }
                // Debounce: wait for quiet, drop the events that arrived meanwhile.
                tokio::time::sleep(DEBOUNCE).await;
                while events.try_recv().is_ok() {}
                let _ = reloader.reload(false).await;
            }
            _ = shutdown.changed() => return,
        }
    }
}
