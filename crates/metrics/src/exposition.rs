//! The Prometheus text exposition format (version 0.0.4): one `# HELP` and
//! one `# TYPE` line per family, then its samples. Pure.

use std::fmt::Write as _;

/// The Content-Type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// A metric family being written: its samples follow its header.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family. `help` is escaped as the format asks (`\` and
    /// line breaks).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// A sample of the family last started.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
        self
    }

    /// The samples of one histogram of the family last started:
    /// `_bucket` at each bound and `+Inf`, `_sum`, `_count`.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        h: &openwmi_service::latency::HistogramReading,
    ) -> &mut Self {
        let bucket = format!("{name}_bucket");
        let bounds = openwmi_service::latency::BUCKETS.map(|b| format!("{b}"));
        let mut with_le: Vec<(&str, &str)> = labels.to_vec();
        with_le.push(("le", ""));
        let last = with_le.len() - 1;
        for (le, n) in bounds.iter().zip(h.cumulative) {
            with_le[last].1 = le;
            self.sample(&bucket, &with_le, n as f64);
        }
        with_le[last].1 = "+Inf";
        self.sample(&bucket, &with_le, h.count as f64);
        self.sample(&format!("{name}_sum"), labels, h.sum_seconds);
        self.sample(&format!("{name}_count"), labels, h.count as f64)
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A label value: `\`, `"` and line breaks escaped.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_escaped_labels() {
        let mut e = Exposition::new();
        e.family("openwmi_x", Kind::Gauge, "A \\ thing\nsecond")
            .sample("openwmi_x", &[("share", "a\"b\\c\nd"), ("k", "v")], 2.0)
            .sample("openwmi_x", &[], 0.5);
        e.family("openwmi_y_total", Kind::Counter, "Y.").sample(
            "openwmi_y_total",
            &[],
            f64::INFINITY,
        );
        assert_eq!(
            e.finish(),
            "# HELP openwmi_x A \\\\ thing\\nsecond\n# TYPE openwmi_x gauge\n\
             openwmi_x{share=\"a\\\"b\\\\c\\nd\",k=\"v\"} 2\nopenwmi_x 0.5\n\
             # HELP openwmi_y_total Y.\n# TYPE openwmi_y_total counter\nopenwmi_y_total +Inf\n"
        );
    }
}
