//! Sharing revocations across replicas through Redis.
//!
//! Each entry a replica learns is stored as `{prefix}:rev:{kind}:{id}` with the entry's
//! remaining lifetime as its TTL, and published on `{prefix}:revocations`. Every replica
//! subscribes and applies what it hears within a round trip; on start and after every
//! reconnect it loads the stored set. While Redis is unreachable doorman keeps serving with
//! what it knows (it never forgets a revocation because Redis is down), queues what it
//! learns (bounded), retries with backoff, and reports the state in `/readyz` and
//! `doorman_revocation_sync_errors_total`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{mpsc, watch};

use super::{Entry, Revocations};
use crate::clock::Clock;
use crate::metrics::Metrics;

/// Entries learned while Redis is down, waiting to be shared.
const QUEUE: usize = 10_000;

/// A handle to the running sync task.
pub struct SyncHandle {
    tx: mpsc::Sender<Entry>,
    connected: Arc<AtomicBool>,
}

impl SyncHandle {
    /// Shares an entry this replica learned (queued while Redis is down).
    pub fn publish(&self, entry: Entry) {
        if self.tx.try_send(entry).is_err() {
            tracing::warn!(
                "revocation queue full while Redis is unreachable; the entry stays local"
            );
        }
    }

    /// True while connected and subscribed.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }
}

/// Everything the task needs.
pub struct SyncConfig {
    pub url: String,
    pub prefix: String,
}

/// Starts the sync task; it runs until `shutdown` turns true.
pub fn start(
    config: SyncConfig,
    store: Arc<Revocations>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<SyncHandle, String> {
    let client = redis::Client::open(config.url.as_str())
        .map_err(|e| format!("revocation.redis_url {:?}: {e}", config.url))?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let connected = Arc::new(AtomicBool::new(false));
    let task = Task {
        client,
        prefix: config.prefix,
        store,
        clock,
        metrics,
        connected: connected.clone(),
    };
    tokio::spawn(task.run(rx, shutdown));
    Ok(SyncHandle { tx, connected })
}

struct Task {
    client: redis::Client,
    prefix: String,
    store: Arc<Revocations>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    connected: Arc<AtomicBool>,
}

impl Task {
    async fn run(self, mut rx: mpsc::Receiver<Entry>, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        // An entry taken from the queue whose write failed, retried first after reconnecting.
        let mut retry: Option<Entry> = None;
        loop {
            let result = tokio::select! {
                r = self.session(&mut rx, &mut retry, &mut failures) => r,
                _ = shutdown.changed() => return,
            };
            self.connected.store(false, Ordering::SeqCst);
            if let Err(e) = result {
                self.metrics.revocation_sync_errors.inc();
                tracing::warn!(error = %e, "revocation sync with Redis lost; serving with the local set and retrying");
            }
            failures = failures.saturating_add(1);
            let wait = Duration::from_millis(100u64 << failures.min(6)).min(Duration::from_secs(5));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    fn channel(&self) -> String {
        format!("{}:revocations", self.prefix)
    }

    fn key(&self, e: &Entry) -> String {
        let kind = match e.kind {
            super::Kind::Session => "session",
            super::Kind::User => "user",
            super::Kind::Stale => "stale",
        };
        format!("{}:rev:{kind}:{}", self.prefix, e.id)
    }

    /// One connected session: subscribe, load the stored set, then relay both ways.
    async fn session(
        &self,
        rx: &mut mpsc::Receiver<Entry>,
        retry: &mut Option<Entry>,
        failures: &mut u32,
    ) -> Result<(), String> {
        let timeout = Duration::from_secs(3);
        let mut conn =
            tokio::time::timeout(timeout, self.client.get_multiplexed_async_connection())
                .await
                .map_err(|_| "connect timed out".to_string())?
                .map_err(|e| e.to_string())?;
        let mut pubsub = tokio::time::timeout(timeout, self.client.get_async_pubsub())
            .await
            .map_err(|_| "subscribe timed out".to_string())?
            .map_err(|e| e.to_string())?;
        pubsub
            .subscribe(self.channel())
            .await
            .map_err(|e| e.to_string())?;
        self.load_stored(&mut conn).await?;
        self.connected.store(true, Ordering::SeqCst);
        *failures = 0;
        tracing::info!("revocation sync connected to Redis");
        if let Some(entry) = retry.take() {
            if let Err(e) = self.share(&mut conn, &entry).await {
                *retry = Some(entry);
                return Err(e);
            }
        }
        let mut messages = pubsub.on_message();
        loop {
            tokio::select! {
                msg = messages.next() => {
                    let Some(msg) = msg else { return Err("subscription closed".into()) };
                    let payload: String = msg.get_payload().map_err(|e| e.to_string())?;
                    self.apply(&payload);
                }
                entry = rx.recv() => {
                    let Some(entry) = entry else { return Ok(()) };
                    if let Err(e) = self.share(&mut conn, &entry).await {
                        *retry = Some(entry);
                        return Err(e);
                    }
                }
            }
        }
    }

    fn apply(&self, payload: &str) {
        match serde_json::from_str::<Entry>(payload) {
            Ok(entry) => {
                self.store.apply(&entry, self.clock.now_unix());
            }
            Err(e) => tracing::warn!(error = %e, "ignored an unreadable revocation from Redis"),
        }
    }

    async fn share(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        entry: &Entry,
    ) -> Result<(), String> {
        let ttl = entry.expires_at.saturating_sub(self.clock.now_unix());
        if ttl <= 0 {
            return Ok(());
        }
        let payload = serde_json::to_string(entry).map_err(|e| e.to_string())?;
        let _: () = conn
            .set_ex(self.key(entry), &payload, u64::try_from(ttl).unwrap_or(1))
            .await
            .map_err(|e| e.to_string())?;
        let _: i64 = conn
            .publish(self.channel(), &payload)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn load_stored(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
    ) -> Result<(), String> {
        let pattern = format!("{}:rev:*", self.prefix);
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(conn)
                .await
                .map_err(|e| e.to_string())?;
            if !keys.is_empty() {
                let values: Vec<Option<String>> =
                    conn.mget(&keys).await.map_err(|e| e.to_string())?;
                for value in values.into_iter().flatten() {
                    self.apply(&value);
                }
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}
