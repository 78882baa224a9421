//! The result of a run and its renderings: human text, JSON, the `--compare` table of
//! medians and ratios, and an SVG with throughput and latency over time.
//!
//! Units: MB = 10^6 bytes. "payload" MB counts record keys + values; "wire" MB counts whole
//! Produce request frames written (or Fetch response frames read).

use std::fmt::Write as _;

use crate::args::{Config, Keys, Mode};
use crate::stats::{Percentiles, TimelinePoint};

/// Everything measured in one run against one broker.
#[derive(Debug, Clone)]
pub struct Report {
    pub broker: String,
    pub mode: Mode,
    pub workload: Option<String>,
    /// A one-line description of the settings.
    pub settings: String,
    pub partitions: usize,
    /// Produce acks setting (0 means records are counted when sent).
    pub acks: i16,
    /// Seconds from start until the last produce ack.
    pub produce_secs: f64,
    /// Seconds from start until the consumers stopped.
    pub consume_secs: f64,
    pub sent_records: u64,
    pub acked_records: u64,
    pub produce_errors: u64,
    pub last_produce_error: i16,
    pub acked_payload_bytes: u64,
    pub produce_wire_bytes: u64,
    pub consumed_records: u64,
    pub consumed_payload_bytes: u64,
    pub fetch_wire_bytes: u64,
    pub produce_requests: u64,
    pub fetch_responses: u64,
    pub ack: Option<Percentiles>,
    pub e2e: Option<Percentiles>,
    pub cpu_user_secs: f64,
    pub cpu_sys_secs: f64,
    /// The host's steal time over the run, in % of all CPU time (see `stats::host_ticks`).
    pub host_steal_percent: f64,
    pub wall_secs: f64,
    pub timeline: Vec<TimelinePoint>,
}

/// One comparable number from a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub key: &'static str,
    pub value: f64,
    /// True when a larger value is better (throughput); false for latency and CPU.
    pub higher_is_better: bool,
}

fn per_s(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// A one-line description of the configured workload.
pub fn settings_line(cfg: &Config, partitions: usize) -> String {
    let rate = cfg
        .rate
        .map_or("unlimited".to_string(), |r| format!("{r:.0} rec/s"));
    let keys = match cfg.keys {
        Keys::None => "none (sticky)".to_string(),
        Keys::Uniform(n) => format!("uniform:{n}"),
        Keys::Sequential(n) => format!("sequential:{n}"),
    };
    let acks = if cfg.acks == -1 {
        "all".to_string()
    } else {
        cfg.acks.to_string()
    };
    format!(
        "topic {} ({} partitions), {} B records, keys {}, rate {}, acks={}, linger {} ms, batch {} B, compression {}, in-flight {}, producers {}, consumers {}, fetch max {} B / partition max {} B / max wait {} ms",
        cfg.topic,
        partitions,
        cfg.record_size,
        keys,
        rate,
        acks,
        cfg.linger.as_secs_f64() * 1000.0,
        cfg.batch_bytes,
        cfg.compression.name(),
        cfg.max_in_flight,
        cfg.producers,
        cfg.consumers,
        cfg.fetch_max_bytes,
        cfg.partition_max_bytes,
        cfg.fetch_max_wait_ms
    )
}

impl Report {
    fn produces(&self) -> bool {
        self.mode != Mode::Consume
    }

    fn consumes(&self) -> bool {
        self.mode != Mode::Produce
    }

    /// One line describing failed records, if any.
    pub fn failure_summary(&self) -> Option<String> {
        (self.produce_errors > 0).then(|| {
            format!(
                "{}: {} of {} records failed (last error code {})",
                self.broker,
                self.produce_errors,
                self.produce_errors + self.acked_records,
                self.last_produce_error
            )
        })
    }

    /// Client CPU as a percentage of one core over the run.
    pub fn cpu_percent(&self) -> f64 {
        if self.wall_secs > 0.0 {
            100.0 * (self.cpu_user_secs + self.cpu_sys_secs) / self.wall_secs
        } else {
            0.0
        }
    }

    /// The comparable numbers of this run (only those the mode measures).
    pub fn figures(&self) -> Vec<Figure> {
        let mut out = Vec::new();
        let mut push = |key, value, higher_is_better| {
            out.push(Figure {
                key,
                value,
                higher_is_better,
            })
        };
        if self.produces() {
            push(
                "produce_records_per_s",
                per_s(self.acked_records, self.produce_secs),
                true,
            );
            push(
                "produce_payload_mb_per_s",
                per_s(self.acked_payload_bytes, self.produce_secs) / 1e6,
                true,
            );
            push(
                "produce_wire_mb_per_s",
                per_s(self.produce_wire_bytes, self.produce_secs) / 1e6,
                true,
            );
        }
        if self.consumes() {
            push(
                "consume_records_per_s",
                per_s(self.consumed_records, self.consume_secs),
                true,
            );
            push(
                "consume_payload_mb_per_s",
                per_s(self.consumed_payload_bytes, self.consume_secs) / 1e6,
                true,
            );
        }
        let lat = |p: &Option<Percentiles>,
                   keys: [&'static str; 5],
                   push: &mut dyn FnMut(&'static str, f64, bool)| {
            if let Some(p) = p {
                for (k, v) in keys.into_iter().zip([p.p50, p.p95, p.p99, p.p999, p.max]) {
                    push(k, v, false);
                }
            }
        };
        lat(
            &self.ack,
            [
                "ack_p50_ms",
                "ack_p95_ms",
                "ack_p99_ms",
                "ack_p999_ms",
                "ack_max_ms",
            ],
            &mut push,
        );
        lat(
            &self.e2e,
            [
                "e2e_p50_ms",
                "e2e_p95_ms",
                "e2e_p99_ms",
                "e2e_p999_ms",
                "e2e_max_ms",
            ],
            &mut push,
        );
        push("client_cpu_percent", self.cpu_percent(), false);
        push("host_steal_percent", self.host_steal_percent, false);
        out
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "weir bench {} against {}{}",
            self.mode.name(),
            self.broker,
            self.workload
                .as_ref()
                .map_or(String::new(), |w| format!(" (workload {w})"))
        );
        let _ = writeln!(s, "  settings: {}", self.settings);
        if self.produces() {
            let _ = writeln!(
                s,
                "  produce: {} records {} in {:.2} s = {:.0} rec/s, {:.2} MB/s payload, {:.2} MB/s wire (MB = 10^6 B)",
                self.acked_records,
                if self.acks == 0 {
                    "sent (acks=0, no acknowledgement)"
                } else {
                    "acked"
                },
                self.produce_secs,
                per_s(self.acked_records, self.produce_secs),
                per_s(self.acked_payload_bytes, self.produce_secs) / 1e6,
                per_s(self.produce_wire_bytes, self.produce_secs) / 1e6
            );
            let _ = writeln!(
                s,
                "  produce requests: {} ({:.1} records each)",
                self.produce_requests,
                self.sent_records as f64 / self.produce_requests.max(1) as f64
            );
            if self.produce_errors > 0 {
                let _ = writeln!(
                    s,
                    "  produce errors: {} records (last error code {})",
                    self.produce_errors, self.last_produce_error
                );
            }
            match &self.ack {
                Some(p) => {
                    let _ = writeln!(s, "  produce->ack latency ms: {}", lat_line(p));
                }
                None if self.acks == 0 => {
                    let _ = writeln!(s, "  produce->ack latency: not measured (acks=0)");
                }
                None => {
                    let _ = writeln!(s, "  produce->ack latency: no record was acknowledged");
                }
            }
        }
        if self.consumes() {
            let _ = writeln!(
                s,
                "  consume: {} records in {:.2} s = {:.0} rec/s, {:.2} MB/s payload, {:.2} MB/s fetch wire",
                self.consumed_records,
                self.consume_secs,
                per_s(self.consumed_records, self.consume_secs),
                per_s(self.consumed_payload_bytes, self.consume_secs) / 1e6,
                per_s(self.fetch_wire_bytes, self.consume_secs) / 1e6
            );
            let _ = writeln!(
                s,
                "  fetch responses: {} ({:.0} bytes each)",
                self.fetch_responses,
                self.fetch_wire_bytes as f64 / self.fetch_responses.max(1) as f64
            );
            if let Some(p) = &self.e2e {
                let _ = writeln!(s, "  end-to-end latency ms: {}", lat_line(p));
            }
        }
        let _ = writeln!(
            s,
            "  client CPU: {:.2} s user + {:.2} s sys over {:.2} s = {:.1}% of one core",
            self.cpu_user_secs,
            self.cpu_sys_secs,
            self.wall_secs,
            self.cpu_percent()
        );
        let _ = writeln!(
            s,
            "  host steal: {:.2}% of CPU time (the hypervisor serving other guests; above 1% the latency tail is not worth quoting)",
            self.host_steal_percent
        );
        s
    }

    /// The report as a JSON object.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        let _ = write!(
            s,
            "\"broker\":{},\"mode\":{},\"workload\":{},\"settings\":{},\"partitions\":{},\"acks\":{},",
            json_str(&self.broker),
            json_str(self.mode.name()),
            self.workload.as_deref().map_or("null".into(), json_str),
            json_str(&self.settings),
            self.partitions,
            self.acks
        );
        let _ = write!(
            s,
            "\"mb\":\"10^6 bytes; payload = record key + value, wire = request/response frames\",\
             \"produce_secs\":{},\"consume_secs\":{},\"wall_secs\":{},\
             \"sent_records\":{},\"acked_records\":{},\"produce_errors\":{},\"acked_payload_bytes\":{},\
             \"produce_wire_bytes\":{},\"consumed_records\":{},\"consumed_payload_bytes\":{},\
             \"fetch_wire_bytes\":{},\"produce_requests\":{},\"fetch_responses\":{},\"cpu_user_secs\":{},\"cpu_sys_secs\":{},",
            num(self.produce_secs),
            num(self.consume_secs),
            num(self.wall_secs),
            self.sent_records,
            self.acked_records,
            self.produce_errors,
            self.acked_payload_bytes,
            self.produce_wire_bytes,
            self.consumed_records,
            self.consumed_payload_bytes,
            self.fetch_wire_bytes,
            self.produce_requests,
            self.fetch_responses,
            num(self.cpu_user_secs),
            num(self.cpu_sys_secs)
        );
        let _ = write!(
            s,
            "\"ack_latency_ms\":{},\"e2e_latency_ms\":{},\"figures\":{{",
            pct_json(&self.ack),
            pct_json(&self.e2e)
        );
        let figs: Vec<String> = self
            .figures()
            .iter()
            .map(|f| format!("{}:{}", json_str(f.key), num(f.value)))
            .collect();
        s += &figs.join(",");
        s += "},\"timeline\":[";
        let pts: Vec<String> = self
            .timeline
            .iter()
            .map(|p| {
                format!(
                    "{{\"t\":{},\"acked_per_s\":{},\"consumed_per_s\":{},\"ack_ms\":{},\"e2e_ms\":{}}}",
                    num(p.t),
                    num(p.acked_per_s),
                    num(p.consumed_per_s),
                    pct_json(&p.ack),
                    pct_json(&p.e2e)
                )
            })
            .collect();
        s += &pts.join(",");
        s += "]}";
        s
    }
}

fn lat_line(p: &Percentiles) -> String {
    format!(
        "p50 {:.3}  p95 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  (mean {:.3}, n={})",
        p.p50, p.p95, p.p99, p.p999, p.max, p.mean, p.count
    )
}

fn pct_json(p: &Option<Percentiles>) -> String {
    match p {
        None => "null".into(),
        Some(p) => format!(
            "{{\"count\":{},\"mean\":{},\"p50\":{},\"p95\":{},\"p99\":{},\"p99_9\":{},\"max\":{}}}",
            p.count,
            num(p.mean),
            num(p.p50),
            num(p.p95),
            num(p.p99),
            num(p.p999),
            num(p.max)
        ),
    }
}

/// A JSON number (non-finite values become null).
fn num(v: f64) -> String {
    if v.is_finite() {
        let r = (v * 1000.0).round() / 1000.0;
        format!("{r}")
    } else {
        "null".into()
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Median of a non-empty list (mean of the middle two for even lengths).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Medians across rounds for each figure, for two brokers.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    pub key: &'static str,
    pub a: f64,
    pub b: f64,
    pub higher_is_better: bool,
}

impl CompareRow {
    /// b / a.
    pub fn ratio(&self) -> f64 {
        if self.a != 0.0 {
            self.b / self.a
        } else {
            f64::NAN
        }
    }
}

/// Builds the comparison rows from the rounds of each broker.
pub fn compare_rows(a: &[Report], b: &[Report]) -> Vec<CompareRow> {
    let Some(first) = a.first() else {
        return Vec::new();
    };
    first
        .figures()
        .into_iter()
        .map(|f| {
            let pick = |rs: &[Report]| {
                let vals: Vec<f64> = rs
                    .iter()
                    .filter_map(|r| r.figures().into_iter().find(|g| g.key == f.key))
                    .map(|g| g.value)
                    .collect();
                median(&vals)
            };
            CompareRow {
                key: f.key,
                a: pick(a),
                b: pick(b),
                higher_is_better: f.higher_is_better,
            }
        })
        .collect()
}

/// The comparison table as text.
pub fn compare_text(a_name: &str, b_name: &str, rows: &[CompareRow], rounds: usize) -> String {
    let mut s = format!(
        "medians of {rounds} alternating rounds (A = {a_name}, B = {b_name}; MB = 10^6 B)\n"
    );
    let _ = writeln!(s, "  {:<26} {:>14} {:>14} {:>9}", "figure", "A", "B", "B/A");
    for r in rows {
        let _ = writeln!(
            s,
            "  {:<26} {:>14.3} {:>14.3} {:>9.3}  ({})",
            r.key,
            r.a,
            r.b,
            r.ratio(),
            if r.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            }
        );
    }
    s
}

/// The comparison as JSON: every round's report plus the median table.
pub fn compare_json(a: &[Report], b: &[Report], rows: &[CompareRow]) -> String {
    let list = |rs: &[Report]| rs.iter().map(Report::to_json).collect::<Vec<_>>().join(",");
    let meds: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}:{{\"a\":{},\"b\":{},\"ratio_b_over_a\":{}}}",
                json_str(r.key),
                num(r.a),
                num(r.b),
                num(r.ratio())
            )
        })
        .collect();
    format!(
        "{{\"a_rounds\":[{}],\"b_rounds\":[{}],\"medians\":{{{}}}}}",
        list(a),
        list(b),
        meds.join(",")
    )
}

/// A plotted line: legend name, colour, and the value taken from each timeline point.
type Series = (
    &'static str,
    &'static str,
    Box<dyn Fn(&TimelinePoint) -> Option<f64>>,
);

/// An SVG page: throughput per second, and latency percentiles per second on a log scale.
pub fn to_svg(r: &Report) -> String {
    const W: f64 = 900.0;
    const PH: f64 = 260.0;
    const L: f64 = 70.0;
    const RM: f64 = 20.0;
    let tmax = r.timeline.last().map_or(1.0, |p| p.t).max(1.0);
    let x = |t: f64| L + (W - L - RM) * t / tmax;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        2.0 * PH + 190.0
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"20\" font-size=\"14\">weir bench {} against {}</text>",
        r.mode.name(),
        xml(&r.broker)
    );
    // The settings line is long: wrap it at commas.
    let mut lines: Vec<String> = vec![String::new()];
    for part in r.settings.split(", ") {
        let cur = lines.last_mut().expect("non-empty");
        if !cur.is_empty() && cur.len() + part.len() > 130 {
            lines.push(part.to_string());
        } else {
            if !cur.is_empty() {
                cur.push_str(", ");
            }
            cur.push_str(part);
        }
    }
    for (i, line) in lines.iter().take(3).enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{}\" font-size=\"10\">{}</text>",
            36 + 13 * i,
            xml(line)
        );
    }
    // Panel 1: throughput.
    let top1 = 90.0;
    let ymax = r
        .timeline
        .iter()
        .map(|p| p.acked_per_s.max(p.consumed_per_s))
        .fold(1.0, f64::max)
        * 1.1;
    let y1 = |v: f64| top1 + PH - PH * v / ymax;
    let ticks: Vec<f64> = (0..=4).map(|i| ymax * f64::from(i) / 4.0).collect();
    axes(&mut s, top1, PH, (L, W - RM), "records/s", &ticks, |v| {
        (y1(v), format!("{v:.0}"))
    });
    let series1: [Series; 2] = [
        ("acked/s", "#1f77b4", Box::new(|p| Some(p.acked_per_s))),
        (
            "consumed/s",
            "#2ca02c",
            Box::new(|p| Some(p.consumed_per_s)),
        ),
    ];
    for (i, (name, color, f)) in series1.iter().enumerate() {
        polyline(&mut s, &r.timeline, &x, &|p| f(p).map(y1), color);
        legend(
            &mut s,
            L + 10.0 + 130.0 * i as f64,
            top1 + 14.0,
            name,
            color,
        );
    }
    // Panel 2: latency, log10 scale.
    let top2 = top1 + PH + 50.0;
    let lats: Vec<f64> = r
        .timeline
        .iter()
        .flat_map(|p| {
            [
                p.ack.map(|a| a.max),
                p.e2e.map(|e| e.max),
                p.ack.map(|a| a.p50),
                p.e2e.map(|e| e.p50),
            ]
        })
        .flatten()
        .filter(|v| *v > 0.0)
        .collect();
    let lo = lats.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = lats.iter().copied().fold(0.0, f64::max);
    let (dlo, dhi) = if lats.is_empty() {
        (-1.0, 2.0)
    } else {
        (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        )
    };
    let y2 = move |ms: f64| {
        let l = ms.max(1e-6).log10().clamp(dlo, dhi);
        top2 + PH - PH * (l - dlo) / (dhi - dlo)
    };
    let decades: Vec<f64> = (dlo as i32..=dhi as i32).map(|d| 10f64.powi(d)).collect();
    axes(
        &mut s,
        top2,
        PH,
        (L, W - RM),
        "latency ms (log)",
        &decades,
        |v| (y2(v), format!("{v}")),
    );
    let series2: [Series; 5] = [
        ("ack p50", "#aec7e8", Box::new(|p| p.ack.map(|a| a.p50))),
        ("ack p99", "#1f77b4", Box::new(|p| p.ack.map(|a| a.p99))),
        ("ack max", "#17becf", Box::new(|p| p.ack.map(|a| a.max))),
        ("e2e p50", "#ff9896", Box::new(|p| p.e2e.map(|e| e.p50))),
        ("e2e p99", "#d62728", Box::new(|p| p.e2e.map(|e| e.p99))),
    ];
    for (i, (name, color, f)) in series2.iter().enumerate() {
        polyline(&mut s, &r.timeline, &x, &|p| f(p).map(y2), color);
        legend(
            &mut s,
            L + 10.0 + 110.0 * i as f64,
            top2 + 14.0,
            name,
            color,
        );
    }
    for top in [top1, top2] {
        for i in 0..=5 {
            let t = tmax * f64::from(i) / 5.0;
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{t:.1}</text>",
                x(t),
                top + PH + 13.0
            );
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds since start</text>",
        W / 2.0,
        top2 + PH + 30.0
    );
    s += "</svg>\n";
    s
}

fn axes(
    s: &mut String,
    top: f64,
    h: f64,
    (left, right): (f64, f64),
    label: &str,
    ticks: &[f64],
    tick: impl Fn(f64) -> (f64, String),
) {
    let _ = writeln!(
        s,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{h}\" fill=\"none\" stroke=\"#888\"/>",
        right - left
    );
    for &v in ticks {
        let (y, text) = tick(v);
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{right}\" y2=\"{y:.1}\" stroke=\"#eee\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{text}</text>",
            left - 4.0,
            y + 3.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">{label}</text>",
        top + h / 2.0,
        top + h / 2.0
    );
}

fn polyline(
    s: &mut String,
    pts: &[TimelinePoint],
    x: &dyn Fn(f64) -> f64,
    y: &dyn Fn(&TimelinePoint) -> Option<f64>,
    color: &str,
) {
    let coords: Vec<String> = pts
        .iter()
        .filter_map(|p| y(p).map(|yy| format!("{:.1},{:.1}", x(p.t), yy)))
        .collect();
    if coords.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
        coords.join(" ")
    );
}

fn legend(s: &mut String, x: f64, y: f64, name: &str, color: &str) {
    let _ = writeln!(
        s,
        "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"{y}\" font-size=\"11\">{name}</text>",
        y - 5.0,
        x + 16.0
    );
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(p50: f64) -> Percentiles {
        Percentiles {
            count: 10,
            mean: p50,
            p50,
            p95: p50 * 2.0,
            p99: p50 * 3.0,
            p999: p50 * 4.0,
            max: p50 * 5.0,
        }
    }

    fn report(rate_records: u64, p50: f64) -> Report {
        Report {
            broker: "127.0.0.1:1".into(),
            mode: Mode::E2e,
            workload: None,
            settings: "s \"quoted\"".into(),
            partitions: 1,
            acks: -1,
            produce_secs: 2.0,
            consume_secs: 4.0,
            sent_records: rate_records * 2,
            acked_records: rate_records * 2,
            produce_errors: 0,
            last_produce_error: 0,
            acked_payload_bytes: rate_records * 2 * 1000,
            produce_wire_bytes: rate_records * 2 * 1100,
            consumed_records: rate_records * 2,
            consumed_payload_bytes: rate_records * 2 * 1000,
            fetch_wire_bytes: 0,
            produce_requests: 10,
            fetch_responses: 10,
            ack: Some(pct(p50)),
            e2e: Some(pct(p50 * 2.0)),
            cpu_user_secs: 1.0,
            cpu_sys_secs: 0.5,
            host_steal_percent: 0.25,
            wall_secs: 3.0,
            timeline: vec![
                TimelinePoint {
                    t: 1.0,
                    acked_per_s: 100.0,
                    consumed_per_s: 90.0,
                    ack: Some(pct(p50)),
                    e2e: None,
                },
                TimelinePoint {
                    t: 2.0,
                    acked_per_s: 110.0,
                    consumed_per_s: 120.0,
                    ack: Some(pct(p50)),
                    e2e: Some(pct(p50)),
                },
            ],
        }
    }

    fn fig(r: &Report, key: &str) -> f64 {
        r.figures()
            .into_iter()
            .find(|f| f.key == key)
            .unwrap()
            .value
    }

    #[test]
    fn figures_use_stated_units() {
        let r = report(1000, 1.0);
        assert_eq!(fig(&r, "produce_records_per_s"), 1000.0);
        assert_eq!(fig(&r, "produce_payload_mb_per_s"), 1.0); // 10^6 B/s
        assert_eq!(fig(&r, "produce_wire_mb_per_s"), 1.1);
        assert_eq!(fig(&r, "consume_records_per_s"), 500.0);
        assert_eq!(fig(&r, "ack_p99_ms"), 3.0);
        assert_eq!(fig(&r, "e2e_max_ms"), 10.0);
        assert_eq!(fig(&r, "client_cpu_percent"), 50.0);
        assert_eq!(fig(&r, "host_steal_percent"), 0.25);
        let text = r.to_text();
        assert!(text.contains("1000 rec/s"), "{text}");
        assert!(text.contains("p99.9 4.000"), "{text}");
    }

    #[test]
    fn failures_are_summarised_and_latency_line_says_why_it_is_missing() {
        let mut r = report(1000, 1.0);
        assert!(r.failure_summary().is_none());
        r.produce_errors = 3;
        r.last_produce_error = 10;
        r.acked_records = 0;
        r.ack = None;
        let f = r.failure_summary().unwrap();
        assert!(
            f.contains("3 of 3 records failed (last error code 10)"),
            "{f}"
        );
        assert!(r.to_text().contains("no record was acknowledged"));
        r.acks = 0;
        assert!(r.to_text().contains("not measured (acks=0)"));
    }

    #[test]
    fn produce_mode_has_no_consume_figures() {
        let mut r = report(1000, 1.0);
        r.mode = Mode::Produce;
        assert!(r.figures().iter().all(|f| !f.key.starts_with("consume")));
    }

    #[test]
    fn json_is_well_formed_and_escaped() {
        let j = report(1000, 1.0).to_json();
        assert!(j.contains("\"settings\":\"s \\\"quoted\\\"\""), "{j}");
        assert!(j.contains("\"produce_records_per_s\":1000"), "{j}");
        assert!(j.contains("\"e2e_ms\":null"), "{j}");
        // Balanced braces and brackets outside strings.
        let (mut depth, mut in_str, mut esc) = (0i32, false, false);
        for c in j.chars() {
            match (in_str, esc, c) {
                (true, true, _) => esc = false,
                (true, false, '\\') => esc = true,
                (true, false, '"') => in_str = false,
                (false, _, '"') => in_str = true,
                (false, _, '{') | (false, _, '[') => depth += 1,
                (false, _, '}') | (false, _, ']') => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0);
        }
        assert_eq!(depth, 0);
        assert_eq!(json_str("a\u{1}"), "\"a\\u0001\"");
        assert_eq!(num(f64::NAN), "null");
    }

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let a = vec![report(1000, 1.0), report(3000, 1.0), report(2000, 1.0)];
        let b = vec![report(4000, 2.0), report(4000, 2.0), report(5000, 2.0)];
        let rows = compare_rows(&a, &b);
        let tput = rows
            .iter()
            .find(|r| r.key == "produce_records_per_s")
            .unwrap();
        assert_eq!((tput.a, tput.b), (2000.0, 4000.0));
        assert_eq!(tput.ratio(), 2.0);
        let p50 = rows.iter().find(|r| r.key == "ack_p50_ms").unwrap();
        assert_eq!(p50.ratio(), 2.0);
        assert!(!p50.higher_is_better);
        let t = compare_text("A", "B", &rows, 3);
        assert!(t.contains("produce_records_per_s"));
        assert!(compare_json(&a, &b, &rows).contains("\"ratio_b_over_a\":2"));
    }

    #[test]
    fn svg_has_both_panels_and_lines() {
        let svg = to_svg(&report(1000, 1.0));
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.matches("<polyline").count() >= 5, "{svg}");
        assert!(svg.contains("latency ms (log)"));
        assert!(svg.contains("&quot;quoted&quot;"));
    }
}
