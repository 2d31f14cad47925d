//! What a bulk run did to each user, and the machine-readable report (`--report FILE`).
//!
//! The report is NDJSON: one line per user as it finishes (written through, so a run that is
//! killed still leaves every finished user behind), then one `{"summary": …}` line. `--resume
//! REPORT` reads it back: users that succeeded or were unchanged are carried over and not
//! touched again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened to one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Metadata written.
    Succeeded,
    /// Already as wanted: nothing written.
    Unchanged,
    /// `--dry-run`: would be written.
    WouldChange,
    Failed,
}

impl Kind {
    /// Whether a resumed run may leave this user alone.
    pub fn is_done(self) -> bool {
        matches!(self, Kind::Succeeded | Kind::Unchanged)
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub user: String,
    pub outcome: Kind,
    /// The input record number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<usize>,
    /// The merge patch sent (or, with `--dry-run`, that would be).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Carried over from the report given to `--resume`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
}

/// The counts at the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub succeeded: usize,
    pub unchanged: usize,
    pub would_change: usize,
    pub failed: usize,
    /// Of the above, carried over from `--resume`.
    pub resumed: usize,
    /// Users of the input not reached (the run was interrupted).
    pub not_attempted: usize,
    pub interrupted: bool,
    pub dry_run: bool,
    pub seconds: f64,
    /// Requests sent, and how many met a 429 or were retried.
    pub requests: u64,
    pub rate_limited: u64,
    pub retried: u64,
}

impl Summary {
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome.outcome {
            Kind::Succeeded => self.succeeded += 1,
            Kind::Unchanged => self.unchanged += 1,
            Kind::WouldChange => self.would_change += 1,
            Kind::Failed => self.failed += 1,
        }
        if outcome.resumed {
            self.resumed += 1;
        }
    }

    /// The human form, one line.
    pub fn line(&self) -> String {
        let mut text = format!(
            "{} succeeded, {} unchanged, {} failed",
            self.succeeded, self.unchanged, self.failed
        );
        if self.dry_run {
            text = format!(
                "dry run: {} would change, {} unchanged, {} failed",
                self.would_change, self.unchanged, self.failed
            );
        }
        if self.resumed > 0 {
            text.push_str(&format!(
                " ({} carried over from the resumed report)",
                self.resumed
            ));
        }
        if self.interrupted {
            text.push_str(&format!(
                "; interrupted with {} not attempted",
                self.not_attempted
            ));
        }
        text.push_str(&format!(
            " of {} users in {:.1}s ({} requests, {} rate limited, {} retried)",
            self.total, self.seconds, self.requests, self.rate_limited, self.retried
        ));
        text
    }
}

/// The report file, written through.
pub struct Writer {
    file: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
}

impl Writer {
    /// Creates (truncates) `path`; `None` writes nothing.
    pub fn create(path: Option<&Path>) -> Result<Writer, String> {
        let file = match path {
            Some(p) => {
                let f = std::fs::File::create(p).map_err(|e| {
                    format!(
                        "cannot write the report {}: {e}; choose a writable --report path",
                        p.display()
                    )
                })?;
                Some((p.to_path_buf(), std::io::BufWriter::new(f)))
            }
            None => None,
        };
        Ok(Writer { file })
    }

    pub fn outcome(&mut self, outcome: &Outcome) -> Result<(), String> {
        self.line(&serde_json::to_value(outcome).map_err(|e| e.to_string())?)
    }

    pub fn summary(&mut self, summary: &Summary) -> Result<(), String> {
        let value = serde_json::json!({ "summary": summary });
        self.line(&value)
    }

    fn line(&mut self, value: &Value) -> Result<(), String> {
        let Some((path, file)) = &mut self.file else {
            return Ok(());
        };
        writeln!(file, "{value}")
            .and_then(|()| file.flush())
            .map_err(|e| format!("cannot write the report {}: {e}", path.display()))
    }
}

/// The finished users of a previous report, by user id (the last line of a user wins).
pub fn read_done(path: &Path) -> Result<BTreeMap<String, Outcome>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read --resume {}: {e}; pass the file an earlier run wrote with --report",
            path.display()
        )
    })?;
    let mut done = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with("{\"summary\"") {
            continue;
        }
        match serde_json::from_str::<Outcome>(line) {
            Ok(outcome) if outcome.outcome.is_done() => {
                done.insert(outcome.user.clone(), outcome);
            }
            Ok(outcome) => {
                done.remove(&outcome.user);
            }
            // A line cut short by a kill is expected at the very end; elsewhere it is not.
            Err(_) if i + 1 == text.lines().count() => {}
            Err(e) => {
                return Err(format!(
                    "--resume {} line {}: not a report line ({e}); pass the file --report wrote",
                    path.display(),
                    i + 1
                ))
            }
        }
    }
    Ok(done)
}
