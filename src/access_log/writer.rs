//! Writes request lines off the request path.
//!
//! A request only pushes its [`Record`] (owned values it already had: the path string, the
//! request id, `Arc`s of the route and upstream names) onto a queue under an uncontended
//! lock. A thread of its own (`doorman-log`) wakes every [`FLUSH_EVERY`], or sooner when
//! [`WAKE_AT`] lines are waiting, formats the whole batch into one buffer and writes it
//! to stderr with one `write`, so a thousand requests cost one system call instead of a
//! thousand. Nothing on the request path formats, allocates a line or waits on stderr.
//!
//! Bounded: when [`MAX_QUEUED`] lines are waiting (stderr blocked: a stuck log collector),
//! further lines are dropped and counted in `doorman_log_lines_dropped_total`; requests
//! never wait for the log. [`flush`] writes what is queued, from the calling thread (at
//! shutdown, so the last lines are not lost).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;

use super::line;
use super::Record;

/// How long a line may wait before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(10);
/// Queued lines that wake the writer early.
const WAKE_AT: usize = 4096;
/// Queued lines beyond which new ones are dropped.
const MAX_QUEUED: usize = 65_536;

/// The configured format: JSON lines or text (set with the subscriber, `telemetry::init`).
static JSON: AtomicBool = AtomicBool::new(false);
static WRITER: OnceLock<Writer> = OnceLock::new();
static DROPPED: LazyLock<Counter> = LazyLock::new(Counter::default);

struct Writer {
    queue: Mutex<Vec<Record>>,
    /// The batch being written and its text buffer, reused; also serializes writers, so
    /// lines leave in the order they were queued.
    batch: Mutex<(Vec<Record>, String)>,
    thread: Option<Thread>,
}

/// Chooses JSON or text lines.
pub fn set_json(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

/// `doorman_log_lines_dropped_total` (shares its count with the writer).
pub fn dropped_counter() -> Counter {
    DROPPED.clone()
}

/// Queues one line (starting the writer thread on first use).
pub fn submit(record: Record) {
    let writer = WRITER.get_or_init(Writer::start);
    let Some(thread) = &writer.thread else {
        // No thread could be started: write synchronously rather than lose lines.
        writer.lock_queue().push(record);
        writer.drain();
        return;
    };
    let mut queue = writer.lock_queue();
    if queue.len() >= MAX_QUEUED {
        drop(queue);
        DROPPED.inc();
        return;
    }
    queue.push(record);
    let wake = queue.len() == WAKE_AT;
    drop(queue);
    if wake {
        thread.unpark();
    }
}

/// Writes every queued line now (shutdown; tests).
pub fn flush() {
    if let Some(writer) = WRITER.get() {
        writer.drain();
    }
}

impl Writer {
    fn start() -> Writer {
        let thread = std::thread::Builder::new()
            .name("doorman-log".into())
            .spawn(|| loop {
                std::thread::park_timeout(FLUSH_EVERY);
                if let Some(writer) = WRITER.get() {
                    writer.drain();
                }
            })
            .ok()
            .map(|handle| handle.thread().clone());
        Writer {
            queue: Mutex::new(Vec::with_capacity(WAKE_AT)),
            batch: Mutex::new((Vec::with_capacity(WAKE_AT), String::new())),
            thread,
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Record>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Swaps the queue for the (empty) spare, formats the batch and writes it at once.
    fn drain(&self) {
        let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        let (records, text) = &mut *batch;
        std::mem::swap(&mut *self.lock_queue(), records);
        if records.is_empty() {
            return;
        }
        let json = JSON.load(Ordering::Relaxed);
        for record in records.drain(..) {
            line::format(&record, json, text);
        }
        // A log that cannot be written is not an error a request can act on.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
        text.clear();
        // Keep the buffer for the next batch, unless one burst made it huge.
        if text.capacity() > 4 << 20 {
            *text = String::new();
        }
    }
}
