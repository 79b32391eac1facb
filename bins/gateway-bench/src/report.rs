//! The JSON report printed at the end of a run.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::procstat::ProcSample;

/// One run's results.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) label: String,
    pub(crate) mode: &'static str,
    pub(crate) url: String,
    pub(crate) requests: u64,
    /// Requests that ran (succeeded or failed).
    pub(crate) completed: u64,
    /// Requests never started because `--max-seconds` passed.
    pub(crate) not_run: u64,
    pub(crate) concurrency: usize,
    pub(crate) warmup: u64,
    pub(crate) threads: usize,
    pub(crate) elapsed_s: f64,
    /// Completed requests per second.
    pub(crate) rps: f64,
    pub(crate) errors: u64,
    pub(crate) error_kinds: BTreeMap<String, u64>,
    /// The first error seen, with detail (transport errors), for diagnosis.
    pub(crate) first_error: Option<String>,
    /// Latency of successful requests, microseconds.
    pub(crate) latency_us: Latency,
    /// Measured processes by name.
    pub(crate) processes: BTreeMap<String, ProcessReport>,
    /// The load generator itself.
    pub(crate) client: ProcessReport,
}

/// Latency percentiles, microseconds.
#[derive(Debug, Serialize)]
pub(crate) struct Latency {
    pub(crate) min: f64,
    pub(crate) mean: f64,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) max: f64,
}

impl Latency {
    /// Percentiles of a histogram recorded in nanoseconds.
    pub(crate) fn from_nanos(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| round2(ns as f64 / 1000.0);
        if h.is_empty() {
            return Self {
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        Self {
            min: us(h.min()),
            mean: round2(h.mean() / 1000.0),
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        }
    }
}

/// CPU and memory of one process over the measured phase.
#[derive(Debug, Serialize)]
pub(crate) struct ProcessReport {
    pub(crate) pid: String,
    /// User + system CPU over the measured phase, microseconds.
    pub(crate) cpu_us: f64,
    pub(crate) cpu_us_per_request: f64,
    /// Share of one core over the measured phase (1.0 = one core busy).
    pub(crate) cores: f64,
    pub(crate) rss_kb_before: u64,
    pub(crate) rss_kb_after: u64,
    /// Peak RSS (`VmHWM`) at the end, KiB.
    pub(crate) peak_rss_kb: u64,
    /// (RSS after − RSS before) / completed requests, bytes.
    pub(crate) rss_growth_bytes_per_request: f64,
}

impl ProcessReport {
    /// Compares two samples taken around the measured phase.
    pub(crate) fn new(
        pid: &str,
        before: ProcSample,
        after: ProcSample,
        ticks_per_second: u64,
        completed: u64,
        elapsed: Duration,
    ) -> Self {
        let ticks = after.cpu_ticks.saturating_sub(before.cpu_ticks);
        let cpu_us = ticks as f64 * 1e6 / ticks_per_second.max(1) as f64;
        let per = |x: f64| {
            if completed == 0 {
                0.0
            } else {
                round2(x / completed as f64)
            }
        };
        let rss_growth = (after.rss_kb as f64 - before.rss_kb as f64) * 1024.0;
        Self {
            pid: pid.to_owned(),
            cpu_us: round2(cpu_us),
            cpu_us_per_request: per(cpu_us),
            cores: round2(cpu_us / 1e6 / elapsed.as_secs_f64().max(1e-9)),
            rss_kb_before: before.rss_kb,
            rss_kb_after: after.rss_kb,
            peak_rss_kb: after.hwm_kb,
            rss_growth_bytes_per_request: per(rss_growth),
        }
    }
}

/// Two decimals are plenty and keep the JSON readable.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_report_per_request() {
        let before = ProcSample {
            cpu_ticks: 100,
            rss_kb: 1000,
            hwm_kb: 1000,
        };
        let after = ProcSample {
            cpu_ticks: 150,
            rss_kb: 2000,
            hwm_kb: 2500,
        };
        let r = ProcessReport::new("1", before, after, 100, 10_000, Duration::from_secs(1));
        assert_eq!(r.cpu_us, 500_000.0);
        assert_eq!(r.cpu_us_per_request, 50.0);
        assert_eq!(r.cores, 0.5);
        assert_eq!(r.peak_rss_kb, 2500);
        assert_eq!(r.rss_growth_bytes_per_request, 102.4);
    }

    #[test]
    fn latency_in_microseconds() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for ns in [50_000u64, 100_000, 150_000] {
            h.record(ns).unwrap();
        }
        let l = Latency::from_nanos(&h);
        assert!((l.p50 - 100.0).abs() < 0.2 && (l.max - 150.0).abs() < 0.2);
    }
}
