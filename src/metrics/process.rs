//! `process_*` metrics, the names every Prometheus client library exports: CPU seconds,
//! resident and virtual memory, open and maximum file descriptors, threads, start time.
//!
//! Read from `/proc/self` on each scrape (never on the request path), so they cost nothing
//! between scrapes. On systems without `/proc` (or when a file cannot be read) the affected
//! series are simply absent; a scrape never fails because of them. Parsing is pure
//! ([`parse_stat`], [`parse_status`], [`parse_max_fds`], [`parse_btime`]) and unit-tested.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`): 100 on every Linux
/// architecture doorman builds for (x86_64, aarch64); the kernel ABI fixes it.
const USER_HZ: f64 = 100.0;

/// The fields of `/proc/self/stat` that the metrics need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// User + system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Start time, in seconds after boot.
    pub start_after_boot: f64,
}

/// Memory and threads from `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Status {
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub threads: Option<u64>,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may hold spaces and parentheses,
/// so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let after_comm = &text[text.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; utime is field 14, stime 15, starttime 22.
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |n: usize| -> Option<f64> { fields.get(n.checked_sub(3)?)?.parse::<f64>().ok() };
    Some(Stat {
        cpu_seconds: (field(14)? + field(15)?) / USER_HZ,
        start_after_boot: field(22)? / USER_HZ,
    })
}

/// Parses `/proc/<pid>/status` (`VmRSS`, `VmSize` in kB; `Threads`).
pub fn parse_status(text: &str) -> Status {
    let mut status = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = value
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok());
        match key {
            "VmRSS" => status.resident_bytes = number.and_then(|kb| kb.checked_mul(1024)),
            "VmSize" => status.virtual_bytes = number.and_then(|kb| kb.checked_mul(1024)),
            "Threads" => status.threads = number,
            _ => {}
        }
    }
    status
}

/// The soft limit of open files from `/proc/<pid>/limits` (`None` when unlimited).
pub fn parse_max_fds(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The boot time (`btime`, seconds since the epoch) from `/proc/stat`.
pub fn parse_btime(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// One scrape's worth of process figures; absent ones are `None`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sample {
    pub cpu_seconds: Option<f64>,
    pub start_time_seconds: Option<f64>,
    pub status: Status,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

/// Reads this process's figures from `/proc`.
pub fn sample() -> Sample {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let stat = read("/proc/self/stat").as_deref().and_then(parse_stat);
    let btime = read("/proc/stat").as_deref().and_then(parse_btime);
    Sample {
        cpu_seconds: stat.map(|s| s.cpu_seconds),
        start_time_seconds: stat.zip(btime).map(|(s, boot)| boot + s.start_after_boot),
        status: read("/proc/self/status")
            .as_deref()
            .map(parse_status)
            .unwrap_or_default(),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64),
        max_fds: read("/proc/self/limits").as_deref().and_then(parse_max_fds),
    }
}

/// Encodes the `process_*` families on each scrape.
#[derive(Debug)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = sample();
        if let Some(cpu) = s.cpu_seconds {
            let counter = ConstCounter::new(cpu);
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                counter.metric_type(),
            )?)?;
        }
        let gauges: [(&str, &str, Option<f64>); 6] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                s.status.resident_bytes.map(|b| b as f64),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                s.status.virtual_bytes.map(|b| b as f64),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                s.open_fds.map(|n| n as f64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                s.max_fds.map(|n| n as f64),
            ),
            (
                "process_threads",
                "Number of OS threads in the process",
                s.status.threads.map(|n| n as f64),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                s.start_time_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let gauge = ConstGauge::new(v);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        // A name with spaces and a parenthesis, as a process can choose.
        let text = "4242 (doorman (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 \
                    5 0 123456 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let stat = parse_stat(text).unwrap();
        assert_eq!(stat.cpu_seconds, 3.8);
        assert_eq!(stat.start_after_boot, 1234.56);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn status_gives_memory_in_bytes_and_threads() {
        let text = "Name:\tdoorman\nVmSize:\t  232124 kB\nVmRSS:\t   23624 kB\nThreads:\t5\n";
        assert_eq!(
            parse_status(text),
            Status {
                resident_bytes: Some(23624 * 1024),
                virtual_bytes: Some(232124 * 1024),
                threads: Some(5),
            }
        );
    }

    #[test]
    fn limits_and_boot_time_parse() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1048576              1048576              files\n";
        assert_eq!(parse_max_fds(limits), Some(1048576));
        assert_eq!(
            parse_max_fds("Max open files            unlimited            unlimited   files"),
            None
        );
        assert_eq!(
            parse_btime("cpu  1 2 3\nbtime 1764766000\n"),
            Some(1764766000.0)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_figures_on_linux() {
        let s = sample();
        assert!(s.cpu_seconds.is_some_and(|c| c >= 0.0));
        assert!(s.open_fds.is_some_and(|n| n > 0));
        assert!(s.status.resident_bytes.is_some_and(|b| b > 0));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = s.start_time_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0,
            "{start} vs {now}"
        );
    }
}
