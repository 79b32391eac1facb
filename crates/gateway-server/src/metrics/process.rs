//! The standard `process_*` metrics, read from `/proc/self` at scrape time (Linux; on
//! other systems they are left out).

use super::text::Exposition;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, fixed at 100 in the
/// Linux ABI).
const TICKS_PER_SECOND: f64 = 100.0;

/// What `/proc/self` says about this process.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Process {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) resident_bytes: Option<f64>,
    pub(crate) virtual_bytes: Option<f64>,
    pub(crate) open_fds: Option<f64>,
    pub(crate) max_fds: Option<f64>,
    pub(crate) start_time_seconds: Option<f64>,
}

impl Process {
    /// Reads `/proc/self` (fields it cannot read stay `None`).
    pub(crate) fn read() -> Process {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let stat = stat.as_deref().and_then(stat_fields);
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| boot_time(&s));
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Process {
            cpu_seconds: stat.map(|s| (s.utime + s.stime) as f64 / TICKS_PER_SECOND),
            resident_bytes: kib(&status, "VmRSS:"),
            virtual_bytes: kib(&status, "VmSize:"),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as f64),
            max_fds: std::fs::read_to_string("/proc/self/limits")
                .ok()
                .and_then(|l| max_open_files(&l)),
            start_time_seconds: stat
                .zip(boot)
                .map(|(s, boot)| boot + s.start_ticks as f64 / TICKS_PER_SECOND),
        }
    }

    /// Writes the families that could be read.
    pub(crate) fn write(&self, page: &mut Exposition) {
        let families = [
            (
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                self.cpu_seconds,
            ),
            (
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                self.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "gauge",
                "Virtual memory size in bytes.",
                self.virtual_bytes,
            ),
            (
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
                self.open_fds,
            ),
            (
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
                self.max_fds,
            ),
            (
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
                self.start_time_seconds,
            ),
        ];
        for (name, kind, help, value) in families {
            if let Some(value) = value {
                page.family(name, kind, help);
                page.sample(name, &[], value);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Stat {
    utime: u64,
    stime: u64,
    start_ticks: u64,
}

/// utime, stime and starttime of `/proc/self/stat` (fields 14, 15 and 22; the command
/// name in parentheses may contain spaces, so fields are counted after its `)`).
fn stat_fields(stat: &str) -> Option<Stat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        start_ticks: field(22)?,
    })
}

fn boot_time(proc_stat: &str) -> Option<f64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `Key:   123 kB` line of `/proc/self/status`, in bytes.
fn kib(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    let kib: f64 = line.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024.0)
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "42 (a b) S 1 1 1 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1000 1 2";
        let s = stat_fields(stat).unwrap();
        assert_eq!((s.utime, s.stime, s.start_ticks), (250, 50, 1000));
        assert_eq!(boot_time("cpu 1 2\nbtime 1700000000\n"), Some(1.7e9));
        assert_eq!(kib("VmRSS:\t  2048 kB\n", "VmRSS:"), Some(2048.0 * 1024.0));
        let limits = "Limit Soft Hard Units\nMax open files            1024                 4096                 files\n";
        assert_eq!(max_open_files(limits), Some(1024.0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let p = Process::read();
        assert!(p.resident_bytes.unwrap() > 0.0);
        assert!(p.open_fds.unwrap() >= 3.0);
        assert!(p.cpu_seconds.is_some() && p.start_time_seconds.is_some());
    }
}
