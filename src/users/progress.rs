//! Progress of a bulk run on stderr: a bar redrawn in place on a terminal, a plain line
//! every few seconds otherwise (logs, CI), nothing when quiet.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::report::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

pub struct Progress {
    mode: Mode,
    total: usize,
    started: Instant,
    last: Option<Instant>,
    every: Duration,
}

impl Progress {
    /// A bar when stderr is a terminal, else lines.
    pub fn for_stderr(total: usize) -> Progress {
        let mode = if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        Progress::new(mode, total)
    }

    pub fn new(mode: Mode, total: usize) -> Progress {
        Progress {
            mode,
            total,
            started: Instant::now(),
            last: None,
            every: if mode == Mode::Bar {
                Duration::from_millis(100)
            } else {
                Duration::from_secs(5)
            },
        }
    }

    /// Shows `summary` if it is time to.
    pub fn update(&mut self, summary: &Summary) {
        let now = Instant::now();
        if self.mode == Mode::Quiet || self.last.is_some_and(|t| now - t < self.every) {
            return;
        }
        self.last = Some(now);
        let line = self.render(summary);
        let mut err = std::io::stderr().lock();
        let _ = match self.mode {
            Mode::Bar => write!(err, "\r\x1b[2K{line}"),
            _ => writeln!(err, "{line}"),
        };
        let _ = err.flush();
    }

    /// Ends the bar's line.
    pub fn finish(&mut self, summary: &Summary) {
        if self.mode == Mode::Bar {
            let line = self.render(summary);
            eprintln!("\r\x1b[2K{line}");
        }
    }

    fn render(&self, s: &Summary) -> String {
        let done = s.succeeded + s.unchanged + s.would_change + s.failed;
        let rate = (done - s.resumed) as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let counts = format!(
            "{done}/{} users: {} written, {} unchanged, {} failed, {rate:.0} users/s",
            self.total,
            s.succeeded + s.would_change,
            s.unchanged,
            s.failed
        );
        if self.mode != Mode::Bar {
            return counts;
        }
        let width = 30usize;
        let filled = (done * width)
            .checked_div(self.total)
            .unwrap_or(width)
            .min(width);
        format!(
            "[{}{}] {counts}",
            "#".repeat(filled),
            "-".repeat(width - filled)
        )
    }
}
