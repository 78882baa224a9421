//! Counters fed while the broker works, read at scrape time: traffic per topic
//! (summed over its partitions' [`crate::telemetry::Traffic`]), connections and
//! authentication failures by listener, waiting fetches and how long they
//! waited, storage errors, fsync latency (from the storage crate's
//! [`weir_storage::stats`]), and what retention and the log cleaner did
//! ([`crate::log_manager::LogManagerStats`]).

use crate::log_manager::LogManagerStats;
use crate::state::BrokerState;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use weir_storage::stats::DurationHistogram;

/// The scrape-time collector over the live counters.
pub struct LiveCollector {
    pub state: Arc<BrokerState>,
    pub log_manager: Arc<LogManagerStats>,
}

impl fmt::Debug for LiveCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveCollector")
    }
}

/// One unlabelled counter (`name_total`).
fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&v, None)
}

/// A counter family: `name_total{labels} value` lines under one descriptor.
fn counter_family<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(L, u64)],
) -> fmt::Result {
    if rows.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in rows {
        family
            .encode_family(labels)?
            .encode_counter::<NoLabelSet, _, u64>(v, None)?;
    }
    Ok(())
}

/// A histogram in seconds (`name_seconds_bucket`, `_sum`, `_count`).
fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    h: &DurationHistogram,
) -> fmt::Result {
    let (sum, count, buckets) = h.snapshot();
    encoder
        .encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?
        .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
}

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let state = &*self.state;
        let t = &state.telemetry;

        // Traffic per topic, summed over its partitions.
        let mut topics = state.partitions.topics();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        let mut bytes_in = Vec::with_capacity(topics.len());
        let mut records_in = Vec::with_capacity(topics.len());
        let mut bytes_out = Vec::with_capacity(topics.len());
        let mut records_out = Vec::with_capacity(topics.len());
        for topic in &topics {
            let (mut bi, mut ri, mut bo, mut ro) = (0u64, 0u64, 0u64, 0u64);
            for p in topic.partitions() {
                bi += p.traffic.bytes_in.load(Relaxed);
                ri += p.traffic.records_in.load(Relaxed);
                bo += p.traffic.bytes_out.load(Relaxed);
                ro += p.traffic.records_out.load(Relaxed);
            }
            let labels = [("topic", topic.name.clone())];
            bytes_in.push((labels.clone(), bi));
            records_in.push((labels.clone(), ri));
            bytes_out.push((labels.clone(), bo));
            records_out.push((labels, ro));
        }
        counter_family(
            &mut encoder,
            "weir_topic_bytes_in",
            "Bytes of record batches produced to the topic (Kafka's BytesInPerSec, as a total).",
            &bytes_in,
        )?;
        counter_family(
            &mut encoder,
            "weir_topic_records_in",
            "Records produced to the topic (Kafka's MessagesInPerSec, as a total).",
            &records_in,
        )?;
        counter_family(
            &mut encoder,
            "weir_topic_bytes_out",
            "Bytes of record data fetched from the topic (Kafka's BytesOutPerSec, as a total).",
            &bytes_out,
        )?;
        counter_family(
            &mut encoder,
            "weir_topic_records_out",
            "Records fetched from the topic: offsets fetchers were moved past.",
            &records_out,
        )?;

        // Connections and authentication by listener.
        let listeners = t.listeners();
        if !listeners.is_empty() {
            let mut family = encoder.encode_descriptor(
                "weir_connections",
                "Client connections open now, by listener.",
                None,
                MetricType::Gauge,
            )?;
            for (name, open, _) in &listeners {
                family
                    .encode_family(&[("listener", name.as_str())])?
                    .encode_gauge(open)?;
            }
            let accepted: Vec<_> = listeners
                .iter()
                .map(|(name, _, n)| ([("listener", name.clone())], *n))
                .collect();
            counter_family(
                &mut encoder,
                "weir_connections_accepted",
                "Client connections accepted since start-up, by listener.",
                &accepted,
            )?;
        }
        let failures: Vec<_> = t
            .auth_failures()
            .into_iter()
            .map(|(l, m, n)| ([("listener", l), ("mechanism", m)], n))
            .collect();
        counter_family(
            &mut encoder,
            "weir_authentication_failures",
            "Failed authentications, by listener and mechanism (a SASL mechanism, or SSL for a failed TLS handshake or certificate).",
            &failures,
        )?;

        // Long polls.
        encoder
            .encode_descriptor(
                "weir_fetch_waiting",
                "Fetches waiting now for data (long polls: fetch.min.bytes not yet there).",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&t.waiting_fetches.load(Relaxed))?;
        histogram(
            &mut encoder,
            "weir_fetch_wait",
            "How long fetches that had to wait for data waited (until data came, fetch.max.wait.ms passed, or the client went away).",
            &t.fetch_wait,
        )?;

        // Fetch sessions (Kafka's FetchSessionCache metrics).
        let sessions = &state.fetch_sessions;
        let (count, partitions) = sessions.figures();
        encoder
            .encode_descriptor(
                "weir_fetch_sessions",
                "Incremental fetch sessions cached now (Kafka's NumIncrementalFetchSessions).",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&(count as i64))?;
        encoder
            .encode_descriptor(
                "weir_fetch_session_partitions",
                "Partitions in all cached fetch sessions (Kafka's NumIncrementalFetchPartitionsCached).",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&(partitions as i64))?;
        counter(
            &mut encoder,
            "weir_fetch_session_evictions",
            "Fetch sessions evicted to make room for new ones (Kafka's IncrementalFetchSessionEvictionsPerSec).",
            sessions.evictions(),
        )?;

        // Storage.
        counter(
            &mut encoder,
            "weir_storage_errors",
            "Requests answered KAFKA_STORAGE_ERROR (disk full, I/O error), since the process started.",
            crate::telemetry::storage_errors(),
        )?;
        let storage = state.store.stats();
        histogram(
            &mut encoder,
            "weir_fsync_duration",
            "Time each fsync of a log file or directory took.",
            &storage.fsync,
        )?;
        counter(
            &mut encoder,
            "weir_fsync_slow",
            "Fsyncs slower than 1 s (each also logged).",
            storage.slow_fsyncs.load(Relaxed),
        )?;

        // Retention and the log cleaner.
        let lm = &*self.log_manager;
        for (name, help, v) in [
            (
                "weir_retention_runs",
                "Retention passes over every partition.",
                &lm.retention_runs,
            ),
            (
                "weir_retention_deleted_segments",
                "Segments deleted by retention (time, size, log start offset).",
                &lm.segments_deleted,
            ),
            (
                "weir_retention_deleted_bytes",
                "Bytes of segments deleted by retention.",
                &lm.bytes_deleted,
            ),
            (
                "weir_cleaner_runs",
                "Log cleaner passes over the compacted partitions.",
                &lm.cleaner_runs,
            ),
            (
                "weir_cleaner_cleaned_bytes",
                "Bytes the log cleaner read from dirty segments and compacted.",
                &lm.bytes_cleaned,
            ),
            (
                "weir_cleaner_written_bytes",
                "Bytes the log cleaner wrote (what was kept).",
                &lm.bytes_cleaned_written,
            ),
        ] {
            counter(&mut encoder, name, help, v.load(Relaxed))?;
        }
        let ratios: Vec<_> = {
            let all = lm.dirty_ratios.lock();
            all.iter()
                .filter(|((topic, p), _)| state.partitions.partition(topic, *p).is_some())
                .map(|((topic, p), r)| {
                    ([("topic", topic.clone()), ("partition", p.to_string())], *r)
                })
                .collect()
        };
        if !ratios.is_empty() {
            let mut family = encoder.encode_descriptor(
                "weir_cleaner_dirty_ratio",
                "Dirty bytes / cleanable bytes of a compacted partition, as the cleaner last found it (compare min.cleanable.dirty.ratio).",
                None,
                MetricType::Gauge,
            )?;
            for (labels, r) in &ratios {
                family.encode_family(labels)?.encode_gauge(r)?;
            }
        }
        Ok(())
    }
}
