//! `users sync`: write many users' claims, fast and politely.
//!
//! Users are read from Clerk 100 at a time (`GET /v1/users?user_id=…`), compared with what
//! the input wants, and only those that differ get one `PATCH …/metadata` with the smallest
//! merge patch; up to `concurrency` requests are in flight, paced by the client's limiter.
//! Every finished user goes to the report at once; a stop signal lets requests in flight
//! finish, then ends the run as interrupted, resumable from its report.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::client::{Api, ApiError};
use super::input::Record;
use super::layout::Layout;
use super::patch;
use super::progress::Progress;
use super::report::{read_done, Kind, Outcome, Summary, Writer};

/// Users asked for in one list request (Clerk accepts up to 100 ids).
const BATCH: usize = 100;

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
    pub dry_run: bool,
    pub report: Option<PathBuf>,
    pub resume: Option<PathBuf>,
}

/// Writes `records`; returns the summary (also the report's last line). `dry` receives the
/// per-user changes of a dry run; `stop` ends the run early.
pub async fn run(
    api: &Api,
    layout: &Layout,
    records: Vec<Record>,
    options: &Options,
    progress: &mut Progress,
    dry: &mut dyn Write,
    stop: impl Future<Output = ()>,
) -> Result<Summary, String> {
    let started = Instant::now();
    check_fields(layout, &records)?;
    // One cheap request first: a wrong key or URL fails the run, not 50,000 users.
    if !records.is_empty() {
        api.page(1, None).await.map_err(|e| e.to_string())?;
    }
    let done = match &options.resume {
        Some(path) => read_done(path)?,
        None => Default::default(),
    };
    let mut report = Writer::create(options.report.as_deref())?;
    let mut summary = Summary {
        total: records.len(),
        dry_run: options.dry_run,
        ..Summary::default()
    };
    let mut todo = Vec::new();
    for record in records {
        match done.get(&record.user_id) {
            Some(previous) => {
                let carried = Outcome {
                    resumed: true,
                    record: Some(record.number),
                    ..previous.clone()
                };
                summary.count(&carried);
                report.outcome(&carried)?;
            }
            None => todo.push(record),
        }
    }
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = stopped.clone();
    let stop = async move {
        stop.await;
        flag.store(true, Ordering::SeqCst);
    };
    let dry_run = options.dry_run;
    let fetched = stream::iter(todo.chunks(BATCH))
        .then(|chunk| async move {
            let ids: Vec<&str> = chunk.iter().map(|r| r.user_id.as_str()).collect();
            (chunk, api.users_by_id(&ids).await)
        })
        .flat_map(|(chunk, found)| {
            let found = found.map(|users| {
                users
                    .into_iter()
                    .map(|u| (u.id, u.public_metadata))
                    .collect::<HashMap<_, _>>()
            });
            let jobs: Vec<_> = chunk
                .iter()
                .map(|record| {
                    let current = match &found {
                        Ok(users) => users
                            .get(&record.user_id)
                            .cloned()
                            .ok_or(ApiError::NotFound),
                        Err(e) => Err(e.clone()),
                    };
                    one(api, layout, record, current, dry_run)
                })
                .collect();
            stream::iter(jobs)
        })
        .take_until(stop)
        .buffer_unordered(options.concurrency.max(1));
    let mut fetched = std::pin::pin!(fetched);
    while let Some(outcome) = fetched.next().await {
        if dry_run && outcome.outcome == Kind::WouldChange {
            let change = outcome
                .change
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default();
            let _ = writeln!(
                dry,
                "{} (record {}): {change}",
                outcome.user,
                outcome.record.unwrap_or(0)
            );
        }
        summary.count(&outcome);
        report.outcome(&outcome)?;
        progress.update(&summary);
    }
    let finished = summary.succeeded + summary.unchanged + summary.would_change + summary.failed;
    summary.interrupted = stopped.load(Ordering::SeqCst) && finished < summary.total;
    summary.not_attempted = summary.total.saturating_sub(finished);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.requests = api.stats.requests.load(Ordering::Relaxed);
    summary.rate_limited = api.stats.rate_limited.load(Ordering::Relaxed);
    summary.retried = api.stats.retried.load(Ordering::Relaxed);
    report.summary(&summary)?;
    progress.finish(&summary);
    Ok(summary)
}

/// Every field the input writes must have a place in public metadata.
fn check_fields(layout: &Layout, records: &[Record]) -> Result<(), String> {
    let mut missing: Vec<String> = records
        .iter()
        .flat_map(|r| r.values.fields.keys())
        .filter_map(|f| layout.require(*f).err())
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the input writes fields the config does not place: {}",
            missing.join("; ")
        ))
    }
}

/// One user: compare, then write the difference (unless a dry run).
async fn one(
    api: &Api,
    layout: &Layout,
    record: &Record,
    current: Result<Value, ApiError>,
    dry_run: bool,
) -> Outcome {
    let outcome = |kind: Kind, change: Option<Value>, reason: Option<String>| Outcome {
        user: record.user_id.clone(),
        outcome: kind,
        record: Some(record.number),
        change,
        reason,
        resumed: false,
    };
    let current = match current {
        Ok(c) => c,
        Err(e) => return outcome(Kind::Failed, None, Some(e.to_string())),
    };
    let target = match layout.apply(&current, &record.values) {
        Ok(t) => t,
        Err(e) => return outcome(Kind::Failed, None, Some(e)),
    };
    let Some(change) = patch::diff(&current, &target) else {
        return outcome(Kind::Unchanged, None, None);
    };
    if dry_run {
        return outcome(Kind::WouldChange, Some(change), None);
    }
    match api.merge_public_metadata(&record.user_id, &change).await {
        Ok(_) => outcome(Kind::Succeeded, Some(change), None),
        Err(e) => outcome(Kind::Failed, Some(change), Some(e.to_string())),
    }
}
