//! Prometheus metrics (`GET /metrics` on the `--http` listener): what each
//! figure means is in `docs/metrics.md`.
//!
//! - [`requests`]: per-API request counts, refusals and latency histograms,
//!   recorded by the request pipeline's observer stage (atomics, no locks).
//! - [`broker`]: topics, partitions, the data dir and consumer-group lag, read
//!   from the broker's state when scraped.
//! - [`live`]: counters fed while the broker works (traffic per topic,
//!   connections, authentication failures, waiting fetches, fsync latency,
//!   retention and cleaner work).
//!
//! [`render`] writes them all in the Prometheus text format with the
//! `prometheus-client` crate's encoder.

pub mod broker;
pub mod live;
pub mod requests;

use crate::state::BrokerState;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use requests::RequestMetrics;
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

/// The metrics a broker keeps between scrapes.
#[derive(Debug)]
pub struct Metrics {
    pub requests: Arc<RequestMetrics>,
    /// What retention and the log cleaner did (the log manager feeds it).
    pub log_manager: Arc<crate::log_manager::LogManagerStats>,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Arc::default(),
            log_manager: Arc::default(),
            started: Instant::now(),
        }
    }
}

impl Metrics {
    /// Time since the broker started.
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// The exposition formats a scraper may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0` (what Prometheus servers ask for).
    OpenMetrics,
    /// `text/plain; version=0.0.4`, the classic text format (curl, promtool, older scrapers).
    Text,
}

impl Format {
    /// From an HTTP `Accept` header.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// Every metric in `format`.
pub fn render(state: &Arc<BrokerState>, metrics: &Arc<Metrics>, format: Format) -> String {
    let open_metrics = render_open_metrics(state, metrics);
    match format {
        Format::OpenMetrics => open_metrics,
        Format::Text => to_text_format(&open_metrics),
    }
}

/// The classic text format from an OpenMetrics exposition. They differ, for what
/// weir writes, in one place: OpenMetrics names a counter's family without the
/// `_total` its samples carry, the text format names it with. `# UNIT` and
/// `# EOF` are comments to the text format's parser and are dropped too.
fn to_text_format(open_metrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in open_metrics.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|r| r.strip_suffix(" counter"))
        {
            counters.insert(name);
        }
    }
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let descriptor = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match descriptor {
            Some((p, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) {
                    out.push_str(&format!("{p}{name}_total {tail}"));
                } else {
                    out.push_str(line);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn render_open_metrics(state: &Arc<BrokerState>, metrics: &Arc<Metrics>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ProcessCollector(metrics.clone())));
    registry.register_collector(Box::new(RequestCollector(metrics.requests.clone())));
    registry.register_collector(Box::new(broker::BrokerCollector {
        state: state.clone(),
    }));
    registry.register_collector(Box::new(live::LiveCollector {
        state: state.clone(),
        log_manager: metrics.log_manager.clone(),
    }));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

#[derive(Debug)]
struct ProcessCollector(Arc<Metrics>);

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        encoder
            .encode_descriptor(
                "weir_build_info",
                "weir's version (value 1).",
                None,
                MetricType::Gauge,
            )?
            .encode_family(&[("version", env!("CARGO_PKG_VERSION"))])?
            .encode_gauge(&1i64)?;
        encoder
            .encode_descriptor(
                "weir_uptime",
                "Time since the broker started.",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?
            .encode_gauge(&self.0.started.elapsed().as_secs_f64())?;
        Ok(())
    }
}

#[derive(Debug)]
struct RequestCollector(Arc<RequestMetrics>);

impl Collector for RequestCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let apis: Vec<_> = self.0.apis().collect();
        if apis.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "weir_requests",
            "Requests received, by API.",
            None,
            MetricType::Counter,
        )?;
        for (api, f) in &apis {
            family
                .encode_family(&[("api", api.as_str())])?
                .encode_counter::<NoLabelSet, _, u64>(&f.requests.load(Relaxed), None)?;
        }
        let mut family = encoder.encode_descriptor(
            "weir_request_failures",
            "Requests whose connection closed before they were answered, by API.",
            None,
            MetricType::Counter,
        )?;
        for (api, f) in &apis {
            family
                .encode_family(&[("api", api.as_str())])?
                .encode_counter::<NoLabelSet, _, u64>(&f.failed.load(Relaxed), None)?;
        }
        let rejections = self.0.rejections();
        if !rejections.is_empty() {
            let mut family = encoder.encode_descriptor(
                "weir_request_rejections",
                "Requests refused by a pipeline stage (authentication, authorization), by API and Kafka error.",
                None,
                MetricType::Counter,
            )?;
            for (api, code, n) in rejections {
                let error = error_name(code);
                family
                    .encode_family(&[("api", api.as_str()), ("error", error.as_str())])?
                    .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "weir_request_duration",
            "Time of requests by API and phase: queued (frame read to handler start), handled (handler, with body decode and response encode), sent (response written).",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (api, f) in &apis {
            for (phase, h) in [
                ("queued", &f.queued),
                ("handled", &f.handled),
                ("sent", &f.sent),
            ] {
                let (sum, count, buckets) = h.snapshot();
                family
                    .encode_family(&[("api", api.as_str()), ("phase", phase)])?
                    .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
            }
        }
        Ok(())
    }
}

pub use weir_client::error::error_name;

#[cfg(test)]
mod tests {
    use super::to_text_format;

    #[test]
    fn the_text_format_names_counters_with_total_and_drops_openmetrics_comments() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{api=\"Produce\"} 3\n# HELP b Bytes.\n# TYPE b gauge\n# UNIT b bytes\nb 1\n# EOF\n";
        assert_eq!(
            to_text_format(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total{api=\"Produce\"} 3\n# HELP b Bytes.\n# TYPE b gauge\nb 1\n"
        );
    }
}
