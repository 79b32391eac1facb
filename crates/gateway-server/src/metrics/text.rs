//! [`Exposition`]: the Prometheus text format (version 0.0.4), written by hand: the
//! gateway's few metric types need a hundred lines, and its histograms live on its own
//! structures (instance handles, per-template slots) rather than in a registry.

use std::fmt::Write as _;

use super::histogram::{BOUNDS_SECONDS, Histogram};

/// `Content-Type` of the text format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metrics page being written: one family (`# HELP`, `# TYPE`) then its samples.
#[derive(Default)]
pub(crate) struct Exposition {
    out: String,
}

/// Label pairs of a sample; pairs with an empty value are left out (a successful
/// operation has no `error_type`).
pub(crate) type Labels<'a> = &'a [(&'a str, &'a str)];

impl Exposition {
    /// Starts a family: `kind` is `counter`, `gauge` or `histogram`.
    pub(crate) fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample of a counter or gauge.
    pub(crate) fn sample(&mut self, name: &str, labels: Labels<'_>, value: f64) {
        self.out.push_str(name);
        self.labels(labels, None);
        self.value(value);
    }

    /// The `_bucket`, `_sum` and `_count` samples of one histogram.
    pub(crate) fn histogram(&mut self, name: &str, labels: Labels<'_>, h: &Histogram) {
        let s = h.snapshot();
        let mut le = String::new();
        for (i, count) in s.cumulative.iter().enumerate() {
            le.clear();
            match BOUNDS_SECONDS.get(i) {
                Some(bound) => {
                    let _ = write!(le, "{bound}");
                }
                None => le.push_str("+Inf"),
            }
            let _ = write!(self.out, "{name}_bucket");
            self.labels(labels, Some(&le));
            self.value(*count as f64);
        }
        let _ = write!(self.out, "{name}_sum");
        self.labels(labels, None);
        self.value(s.sum_seconds);
        let _ = write!(self.out, "{name}_count");
        self.labels(labels, None);
        self.value(s.count() as f64);
    }

    /// The page.
    pub(crate) fn finish(self) -> String {
        self.out
    }

    fn labels(&mut self, labels: Labels<'_>, le: Option<&str>) {
        let mut pairs = labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, *v))
            .chain(le.map(|le| ("le", le)))
            .peekable();
        if pairs.peek().is_none() {
            return;
        }
        self.out.push('{');
        let mut first = true;
        for (k, v) in pairs {
            if !first {
                self.out.push(',');
            }
            first = false;
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape(&mut self.out, v);
            self.out.push('"');
        }
        self.out.push('}');
    }

    fn value(&mut self, value: f64) {
        if value.is_nan() {
            self.out.push_str(" NaN\n");
        } else if value.is_infinite() {
            self.out
                .push_str(if value > 0.0 { " +Inf\n" } else { " -Inf\n" });
        } else {
            let _ = writeln!(self.out, " {value}");
        }
    }
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn writes_families_samples_and_histograms() {
        let mut page = Exposition::default();
        page.family("a_total", "counter", "A thing.");
        page.sample("a_total", &[("k", "v\"\\\n"), ("empty", "")], 3.0);
        page.sample("a_total", &[], 0.5);
        let h = Histogram::default();
        h.observe(Duration::from_millis(2));
        page.family("d_seconds", "histogram", "D.");
        page.histogram("d_seconds", &[("m", "x")], &h);
        let text = page.finish();
        assert!(text.starts_with("# HELP a_total A thing.\n# TYPE a_total counter\n"));
        assert!(text.contains("a_total{k=\"v\\\"\\\\\\n\"} 3\n"), "{text}");
        assert!(text.contains("\na_total 0.5\n"));
        assert!(text.contains("d_seconds_bucket{m=\"x\",le=\"0.001\"} 0\n"));
        assert!(text.contains("d_seconds_bucket{m=\"x\",le=\"0.0025\"} 1\n"));
        assert!(text.contains("d_seconds_bucket{m=\"x\",le=\"+Inf\"} 1\n"));
        assert!(text.contains("d_seconds_sum{m=\"x\"} 0.002\n"));
        assert!(text.contains("d_seconds_count{m=\"x\"} 1\n"));
    }
}
