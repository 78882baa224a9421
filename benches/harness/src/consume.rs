//! A consumer task: fetches its partitions from each leader (one fetch loop per leader
//! connection, as Kafka consumers do), issues the next Fetch before walking the records of
//! the last one, counts records and payload bytes, and measures end-to-end latency from the
//! timestamp in each record value.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::args::Config;
use crate::batch::{split_batches, BatchView};
use crate::cluster::TopicLayout;
use crate::error::BenchError;
use crate::stats::Stats;
use crate::wire::Conn;

/// When consumers stop; shared by all of them.
#[derive(Debug)]
pub struct StopRule {
    /// Hard stop.
    pub deadline: Option<Instant>,
    /// Stop once this many records were consumed in total (`u64::MAX`: not yet known).
    pub target: AtomicU64,
    /// Stop each partition once it has caught up with the high watermark its fetch
    /// response reported (consume "everything that is there").
    pub until_caught_up: bool,
    /// Only count records stamped at or after this time (µs since the epoch), so records
    /// left over from earlier runs are not mistaken for this run's.
    pub min_stamp_us: Option<u64>,
    /// Set by the orchestrator to stop everything now.
    pub abort: AtomicBool,
}

impl StopRule {
    fn global_stop(&self, stats: &Stats) -> bool {
        self.abort.load(Relaxed)
            || crate::interrupt::requested()
            || self.deadline.is_some_and(|d| Instant::now() >= d)
            || stats.consumed_records.load(Relaxed) >= self.target.load(Relaxed)
    }
}

/// What one consumer task reads.
pub struct ConsumerPlan {
    pub cfg: Arc<Config>,
    pub layout: Arc<TopicLayout>,
    pub stats: Arc<Stats>,
    pub partitions: Vec<usize>,
    /// Start offset of every partition of the topic.
    pub start_offsets: Arc<Vec<i64>>,
    pub stop: Arc<StopRule>,
    /// Measure end-to-end latency (only meaningful for records produced during this run).
    pub measure_e2e: bool,
}

/// Runs one consumer until its stop rule fires.
pub async fn run_consumer(plan: ConsumerPlan) -> Result<(), BenchError> {
    let plan = Arc::new(plan);
    let mut tasks = Vec::new();
    for (addr, parts) in plan.layout.by_leader(&plan.partitions)? {
        tasks.push(tokio::spawn(fetch_loop(plan.clone(), addr, parts)));
    }
    for t in tasks {
        t.await
            .map_err(|e| BenchError::Run(format!("fetch task failed: {e}")))??;
    }
    Ok(())
}

fn fetch_request(cfg: &Config, topic: &TopicName, offsets: &[(usize, i64)]) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(cfg.fetch_max_wait_ms)
        .with_min_bytes(cfg.fetch_min_bytes)
        .with_max_bytes(cfg.fetch_max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic.clone())
            .with_partitions(
                offsets
                    .iter()
                    .map(|&(p, off)| {
                        FetchPartition::default()
                            .with_partition(p as i32)
                            .with_current_leader_epoch(-1)
                            .with_fetch_offset(off)
                            .with_log_start_offset(-1)
                            .with_partition_max_bytes(cfg.partition_max_bytes)
                    })
                    .collect(),
            )])
}

async fn fetch_loop(
    plan: Arc<ConsumerPlan>,
    addr: String,
    parts: Vec<usize>,
) -> Result<(), BenchError> {
    let cfg = &plan.cfg;
    let stats = &plan.stats;
    let stop = &plan.stop;
    let conn = Conn::connect(&addr).await?;
    let version = conn.versions.pick(ApiKey::Fetch, 4, 12)?;
    let (_, mut writer, mut reader) = conn.into_split();
    let topic = TopicName(StrBytes::from_string(plan.layout.topic.clone()));
    let mut offsets: Vec<(usize, i64)> =
        parts.iter().map(|&p| (p, plan.start_offsets[p])).collect();
    // Partitions still to fetch: all of them, until each catches up (when asked to).
    let mut caught_up: Vec<bool> = vec![false; offsets.len()];
    let active_of = |offsets: &[(usize, i64)], caught_up: &[bool]| -> Vec<(usize, i64)> {
        offsets
            .iter()
            .zip(caught_up)
            .filter(|(_, &c)| !c)
            .map(|(&o, _)| o)
            .collect()
    };
    if stop.global_stop(stats) {
        return Ok(());
    }
    let active = active_of(&offsets, &caught_up);
    let mut corr = writer
        .send(&fetch_request(cfg, &topic, &active), version)
        .await?;
    let mut lats: Vec<u64> = Vec::new();
    let limit = Duration::from_millis(cfg.fetch_max_wait_ms as u64 + cfg.request_timeout_ms as u64);
    loop {
        let before = reader.bytes_read;
        let resp = reader
            .recv_within::<FetchRequest>(corr, version, limit)
            .await?;
        stats
            .fetched_wire_bytes
            .fetch_add(reader.bytes_read - before, Relaxed);
        stats.fetch_responses.fetch_add(1, Relaxed);
        if resp.error_code != 0 {
            return Err(BenchError::Kafka {
                context: format!("{addr}: Fetch"),
                code: resp.error_code,
            });
        }
        // Parse batch headers first so the next fetch can go out before the record walk.
        let mut work: Vec<(i64, BatchView)> = Vec::new();
        for t in resp.responses {
            for pd in t.partitions {
                let p = pd.partition_index as usize;
                if pd.error_code != 0 {
                    return Err(BenchError::Kafka {
                        context: format!("Fetch {}-{p}", plan.layout.topic),
                        code: pd.error_code,
                    });
                }
                let Some(i) = offsets.iter().position(|(q, _)| *q == p) else {
                    continue;
                };
                let slot = &mut offsets[i];
                let fetch_offset = slot.1;
                if let Some(records) = pd.records {
                    for b in split_batches(records)? {
                        if b.last_offset() < fetch_offset {
                            continue;
                        }
                        slot.1 = slot.1.max(b.last_offset() + 1);
                        if !b.is_control() {
                            work.push((fetch_offset, b));
                        }
                    }
                }
                if stop.until_caught_up && slot.1 >= pd.high_watermark {
                    caught_up[i] = true;
                }
            }
        }
        let active = active_of(&offsets, &caught_up);
        let more = !active.is_empty() && !stop.global_stop(stats);
        if more {
            corr = writer
                .send(&fetch_request(cfg, &topic, &active), version)
                .await?;
        }
        let mut count = 0u64;
        let mut bytes = 0u64;
        let now_us = stats.clock.now_us();
        let min_stamp = stop.min_stamp_us;
        // Count no more than the run still needs (exact `--records` with one consumer).
        let remaining = stop
            .target
            .load(Relaxed)
            .saturating_sub(stats.consumed_records.load(Relaxed));
        for (fetch_offset, b) in &work {
            b.for_each_record(|off, key, value| {
                if off < *fetch_offset || count >= remaining {
                    return;
                }
                let stamp = (value.len() >= 8)
                    .then(|| u64::from_be_bytes(value[..8].try_into().expect("8 bytes")));
                if let Some(min) = min_stamp {
                    if stamp.is_none_or(|s| s < min) {
                        return; // not written by this run
                    }
                }
                count += 1;
                bytes += (key.len() + value.len()) as u64;
                if let (true, Some(s)) = (plan.measure_e2e, stamp) {
                    lats.push(now_us.saturating_sub(s));
                }
            })?;
        }
        if count > 0 {
            stats
                .last_consumed_us
                .fetch_max(stats.clock.now_us(), Relaxed);
        }
        stats.consumed_records.fetch_add(count, Relaxed);
        stats.consumed_payload_bytes.fetch_add(bytes, Relaxed);
        stats.record_e2e(&lats);
        lats.clear();
        if !more || stop.global_stop(stats) {
            return Ok(());
        }
    }
}
