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
use crate::cluster::TopicLayout;
use crate::stats::Stats;
use crate::wire::Conn;
use crate::BenchError;
use bytes::Bytes;
use weir_storage::batch::{iter_batches, BatchHeader};
use weir_storage::BatchError;

/// The whole v2 batches of a fetched record set, each with its header view and
/// its bytes (a cheap slice, kept for the record walk after the next fetch is
/// sent). A truncated last batch (the broker may cut one at the size limit) is
/// dropped; anything else malformed (older magic, negative length) is an error.
fn whole_batches(records: &Bytes) -> Result<Vec<(BatchHeader<'_>, Bytes)>, BenchError> {
    let mut out = Vec::new();
    let mut start = 0;
    for b in iter_batches(records) {
        let b = match b {
            Ok(b) => b,
            Err(BatchError::TooShort(_)) => break,
            Err(BatchError::LengthMismatch {
                declared,
                available,
            }) if declared > available => break,
            Err(e) => return Err(BenchError::Protocol(e.to_string())),
        };
        let end = start + b.total_len();
        out.push((b, records.slice(start..end)));
        start = end;
    }
    Ok(out)
}

/// What the record walk of one fetch response adds up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    /// Records counted.
    count: u64,
    /// Their payload: key + value lengths.
    bytes: u64,
}

/// How one batch's records are counted.
struct Walk {
    /// Records before this offset were fetched again with their batch: not counted.
    fetch_offset: i64,
    /// Count no more than this many records in this response (over all its batches).
    remaining: u64,
    /// Only records whose value starts with a stamp (µs) at or after this.
    min_stamp: Option<u64>,
    /// The clock when the response was read, for end-to-end latency.
    now_us: u64,
}

impl Walk {
    /// Visits every record of the batch `b` (decompressing if needed; headers are
    /// not counted, so they are stepped over), adding the counted ones to `tally`
    /// and, with `lats`, their end-to-end latency from the value's 8-byte stamp.
    fn tally(
        &self,
        b: &[u8],
        tally: &mut Tally,
        mut lats: Option<&mut Vec<u64>>,
    ) -> Result<(), BenchError> {
        let b = BatchHeader::parse(b).map_err(|e| BenchError::Protocol(e.to_string()))?;
        b.for_each_record_skipping_headers(|r| {
            let (key, value) = (r.key.unwrap_or_default(), r.value.unwrap_or_default());
            if r.offset < self.fetch_offset || tally.count >= self.remaining {
                return;
            }
            let stamp = (value.len() >= 8)
                .then(|| u64::from_be_bytes(value[..8].try_into().expect("8 bytes")));
            if let Some(min) = self.min_stamp {
                if stamp.is_none_or(|s| s < min) {
                    return; // not written by this run
                }
            }
            tally.count += 1;
            tally.bytes += (key.len() + value.len()) as u64;
            if let (Some(lats), Some(s)) = (lats.as_deref_mut(), stamp) {
                lats.push(self.now_us.saturating_sub(s));
            }
        })
        .map_err(|e| BenchError::Codec(e.to_string()))
    }
}

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
    let conn = Conn::connect(&addr, &cfg.security).await?;
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
        let mut work: Vec<(i64, Bytes)> = Vec::new();
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
                    for (b, bytes) in whole_batches(&records)? {
                        if b.last_offset() < fetch_offset {
                            continue;
                        }
                        slot.1 = slot.1.max(b.last_offset() + 1);
                        if !b.is_control() {
                            work.push((fetch_offset, bytes));
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
        let mut tally = Tally::default();
        let now_us = stats.clock.now_us();
        // Count no more than the run still needs (exact `--records` with one consumer).
        let remaining = stop
            .target
            .load(Relaxed)
            .saturating_sub(stats.consumed_records.load(Relaxed));
        for (fetch_offset, b) in &work {
            let walk = Walk {
                fetch_offset: *fetch_offset,
                remaining,
                min_stamp: stop.min_stamp_us,
                now_us,
            };
            let lats = plan.measure_e2e.then_some(&mut lats);
            walk.tally(b, &mut tally, lats)?;
        }
        let Tally { count, bytes } = tally;
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

#[cfg(test)]
mod tests {
    use super::*;
    use weir_storage::batch::BatchEncoder;
    use weir_storage::compression::CompressOptions;
    use weir_storage::Compression;

    fn batch(n: i64) -> Vec<u8> {
        let mut e = BatchEncoder::default();
        for i in 0..n {
            e.append(i, None, Some(b"value"));
        }
        e.finish(Compression::None, CompressOptions::FAST).unwrap()
    }

    #[test]
    fn whole_batches_drops_a_truncated_last_batch() {
        let mut two = batch(3);
        let len = two.len();
        two.extend_from_slice(&batch(2));
        let all = Bytes::from(two.clone());
        let got = whole_batches(&all).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1.len(), two.len() - len);
        for cut in [len + 5, two.len() - 5] {
            let partial = Bytes::from(two[..cut].to_vec());
            let got = whole_batches(&partial).unwrap();
            assert_eq!(got.len(), 1, "cut at {cut}");
            assert_eq!(got[0].1.len(), len);
        }
    }

    #[test]
    fn whole_batches_rejects_old_magic() {
        let mut raw = batch(2);
        raw[16] = 1;
        assert!(whole_batches(&Bytes::from(raw)).is_err());
    }

    fn stamped(stamp: u64, len: usize) -> Vec<u8> {
        let mut v = stamp.to_be_bytes().to_vec();
        v.resize(len, 7);
        v
    }

    /// Offsets 10..16: headers on odd ones, a null key on every third, a null value
    /// at 12 and a 5-byte value at 13 (neither stamped), stamps 100, 101, ... otherwise.
    fn mixed_batch() -> Vec<u8> {
        use weir_storage::batch::{BatchBuilder, Record, RecordHeader};
        let mut b = BatchBuilder::new();
        for i in 10..16i64 {
            let value = match i {
                12 => None,
                13 => Some(Bytes::from_static(b"short")),
                _ => Some(Bytes::from(stamped(90 + i as u64, 100))),
            };
            b.push(Record {
                offset: i,
                timestamp: 1,
                key: (i % 3 != 0).then(|| Bytes::from_static(b"key")),
                value,
                headers: (0..(i % 2))
                    .map(|_| RecordHeader {
                        key: "trace".into(),
                        value: Some(Bytes::from_static(b"0123456789")),
                    })
                    .collect(),
            });
        }
        b.build().unwrap()
    }

    fn walk(fetch_offset: i64, remaining: u64, min_stamp: Option<u64>) -> Walk {
        Walk {
            fetch_offset,
            remaining,
            min_stamp,
            now_us: 1000,
        }
    }

    #[test]
    fn the_walk_counts_every_record_with_headers_and_nulls() {
        let b = mixed_batch();
        let mut tally = Tally::default();
        let mut lats = Vec::new();
        walk(0, u64::MAX, None)
            .tally(&b, &mut tally, Some(&mut lats))
            .unwrap();
        // Keys: 3 bytes at 10, 11, 13, 14 (12 and 15 null); values 100 * 4 + 5.
        assert_eq!(
            tally,
            Tally {
                count: 6,
                bytes: 4 * 3 + 4 * 100 + 5
            }
        );
        // Latency only from the stamped values (offsets 10, 11, 14, 15).
        assert_eq!(lats, [900, 899, 896, 895]);
        // No latencies asked for: none kept, the same tally.
        let mut again = Tally::default();
        walk(0, u64::MAX, None).tally(&b, &mut again, None).unwrap();
        assert_eq!(again, tally);
    }

    #[test]
    fn the_walk_skips_refetched_unstamped_and_surplus_records() {
        let b = mixed_batch();
        // From offset 11: 11..16.
        let mut tally = Tally::default();
        walk(11, u64::MAX, None)
            .tally(&b, &mut tally, None)
            .unwrap();
        assert_eq!(
            tally,
            Tally {
                count: 5,
                bytes: 3 * 3 + 3 * 100 + 5
            }
        );
        // Stamped at or after 101 (= offsets 11, 14, 15; 12 and 13 carry no stamp).
        let mut tally = Tally::default();
        walk(0, u64::MAX, Some(101))
            .tally(&b, &mut tally, None)
            .unwrap();
        assert_eq!(
            tally,
            Tally {
                count: 3,
                bytes: 2 * 3 + 3 * 100
            }
        );
        // No more than `remaining`, counted over several batches of one response.
        let mut tally = Tally::default();
        let w = walk(0, 8, None);
        w.tally(&b, &mut tally, None).unwrap();
        w.tally(&b, &mut tally, None).unwrap();
        assert_eq!(tally.count, 8);
    }

    #[test]
    fn the_walk_rejects_a_truncated_record() {
        // The records section ends inside the last record; the batch length is made to
        // agree, so only the record walk can tell.
        let mut b = mixed_batch();
        b.truncate(b.len() - 3);
        let len = (b.len() - 12) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        let mut tally = Tally::default();
        let err = walk(0, u64::MAX, None).tally(&b, &mut tally, None);
        assert!(matches!(err, Err(BenchError::Codec(_))), "{err:?}");
    }
}
