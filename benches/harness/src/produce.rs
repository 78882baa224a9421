//! A producer task: generates records at the target rate, accumulates them into per-partition
//! batches (batch bytes, linger, sticky or keyed partitioning), and pipelines Produce
//! requests to each partition leader with at most `max_in_flight` outstanding per
//! connection. A reader task per connection matches responses in order and records
//! produce->ack latency from each record's due time.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use weir_storage::batch::BatchEncoder;
use weir_storage::compression::CompressOptions;

use crate::args::Config;
use crate::cluster::TopicLayout;
use crate::keys::{KeyChooser, Rng};
use crate::pacing::Pacer;
use crate::stats::Stats;
use crate::timer::PreciseTimer;
use crate::wire::{Conn, RequestWriter, ResponseReader};
use crate::BenchError;

/// What one producer task does.
pub struct ProducerPlan {
    pub id: usize,
    pub cfg: Arc<Config>,
    pub layout: Arc<TopicLayout>,
    pub stats: Arc<Stats>,
    /// This producer's share of `--records`.
    pub records: Option<u64>,
    /// This producer's share of `--rate`.
    pub rate: Option<f64>,
    pub start: Instant,
    pub deadline: Option<Instant>,
}

/// A sealed batch waiting to be sent.
struct Sealed {
    partition: usize,
    bytes: Bytes,
    stamps: Vec<u64>,
    payload: u64,
}

/// Sent batches awaiting their response.
struct Pending {
    correlation: i32,
    version: i16,
    batches: Vec<(usize, Vec<u64>, u64)>,
    _permit: OwnedSemaphorePermit,
}

/// One connection to a partition leader.
struct Leader {
    writer: RequestWriter,
    version: i16,
    permits: Arc<Semaphore>,
    pending: Option<mpsc::UnboundedSender<Pending>>,
    reader: JoinHandle<Result<(), BenchError>>,
    ready: VecDeque<Sealed>,
}

struct Open {
    builder: BatchEncoder,
    stamps: Vec<u64>,
    /// When the first record was due (paced) or generated (unlimited): linger counts from
    /// there, as a client's linger counts from the send() of a batch's first record.
    opened: Instant,
}

/// Runs one producer to completion (count, deadline) and waits for outstanding acks.
pub async fn run_producer(plan: ProducerPlan) -> Result<(), BenchError> {
    let cfg = plan.cfg.clone();
    let layout = plan.layout.clone();
    let stats = plan.stats.clone();
    let nparts = layout.partitions();
    let all: Vec<usize> = (0..nparts).collect();
    let mut leaders: Vec<Leader> = Vec::new();
    let mut leader_of = vec![0usize; nparts];
    for (addr, parts) in layout.by_leader(&all)? {
        let conn = Conn::connect(&addr, &cfg.security).await?;
        let version = conn.versions.pick(ApiKey::Produce, 3, 12)?;
        let (_, writer, reader) = conn.into_split();
        let permits = Arc::new(Semaphore::new(cfg.max_in_flight));
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_acks(
            reader,
            rx,
            stats.clone(),
            permits.clone(),
            response_limit(&cfg),
        ));
        for p in parts {
            leader_of[p] = leaders.len();
        }
        leaders.push(Leader {
            writer,
            version,
            permits,
            pending: (cfg.acks != 0).then_some(tx),
            reader,
            ready: VecDeque::new(),
        });
    }

    let topic = TopicName(StrBytes::from_string(layout.topic.clone()));
    let mut rng = Rng::new(0x5eed ^ (plan.id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let filler: Vec<u8> = (0..cfg.record_size - 8)
        .map(|_| rng.next_u64() as u8)
        .collect();
    let mut keys = KeyChooser::new(cfg.keys, nparts, rng.next_u64());
    let mut open: Vec<Option<Open>> = (0..nparts).map(|_| None).collect();
    let mut sticky = plan.id % nparts;
    let pacer = Pacer::new(plan.start, plan.rate);
    let mut timer = PreciseTimer::new();
    let limit = plan.records.unwrap_or(u64::MAX);
    let record_estimate = cfg.record_size + 32;
    // Capacity for a batch: enough for batch_bytes, without over-allocating for tiny batches.
    let batch_capacity = cfg.batch_bytes.min(4 * 1024 * 1024) + record_estimate;
    let mut n: u64 = 0;

    let seal = |o: Open, p: usize, leaders: &mut Vec<Leader>| -> Result<(), BenchError> {
        let payload = o.builder.payload_bytes();
        // The cheapest encoding clients send: compressing must cost the load generator little.
        let bytes = o
            .builder
            .finish(cfg.compression, CompressOptions::FAST)
            .map(Bytes::from)
            .map_err(|e| BenchError::Codec(e.to_string()))?;
        leaders[leader_of[p]].ready.push_back(Sealed {
            partition: p,
            bytes,
            stamps: o.stamps,
            payload,
        });
        Ok(())
    };

    loop {
        let now = Instant::now();
        let finished =
            n >= limit || plan.deadline.is_some_and(|d| now >= d) || crate::interrupt::requested();
        if finished {
            break;
        }
        let due = pacer.due_by(now).min(limit);
        let mut sealed_any = false;
        // Generate in slices so linger deadlines and the clock are checked regularly even
        // when many records are due at once (unlimited rate, many keyed partitions).
        let slice_end = due.min(n + GENERATE_SLICE);
        while n < slice_end {
            let t = if pacer.is_unlimited() {
                now
            } else {
                pacer.due_at(n)
            };
            let stamp = stats.clock.us_at(t);
            let ts_ms = (stamp / 1000) as i64;
            let p = if keys.is_null() {
                let p = sticky;
                append(&mut open[p], batch_capacity, t, ts_ms, None, stamp, &filler);
                p
            } else {
                let o = &mut open;
                keys.with_next(|k, p| {
                    append(&mut o[p], batch_capacity, t, ts_ms, Some(k), stamp, &filler);
                    p
                })
            };
            n += 1;
            let full = open[p]
                .as_ref()
                .is_some_and(|o| o.builder.size() + record_estimate > cfg.batch_bytes);
            if full {
                let o = open[p].take().expect("just appended");
                seal(o, p, &mut leaders)?;
                sealed_any = true;
                if keys.is_null() {
                    sticky = (sticky + 1) % nparts;
                }
                break;
            }
        }
        // Linger: seal batches that have waited long enough.
        for (p, slot) in open.iter_mut().enumerate() {
            if slot
                .as_ref()
                .is_some_and(|o| now.duration_since(o.opened) >= cfg.linger)
            {
                let o = slot.take().expect("checked");
                seal(o, p, &mut leaders)?;
                sealed_any = true;
                if keys.is_null() && p == sticky {
                    sticky = (sticky + 1) % nparts;
                }
            }
        }
        if sealed_any {
            for l in leaders.iter_mut() {
                while !l.ready.is_empty() {
                    send_ready(l, &topic, &cfg, &stats).await?;
                }
            }
        }
        if n < due {
            continue; // more records are due right now (a batch filled mid-way)
        }
        // Sleep until something must be sent: a batch's linger expires, an open batch would
        // fill, or (nothing open) the next record is due; or the deadline. Records due
        // while a batch lingers need no wake-up of their own: they join the batch, with
        // their due-time stamps, when it is sealed.
        let mut next: Option<Instant> = plan.deadline;
        let mut earliest = |t: Instant| next = Some(next.map_or(t, |x: Instant| x.min(t)));
        let mut room = u64::MAX; // records the fullest open batch still takes
        for o in open.iter().flatten() {
            earliest(o.opened + cfg.linger);
            let left = cfg.batch_bytes.saturating_sub(o.builder.size()) / record_estimate;
            room = room.min(left as u64);
        }
        if !pacer.is_unlimited() && n < limit {
            earliest(pacer.due_at(if room == u64::MAX { n } else { n + room }));
        }
        match next {
            Some(t) if t > Instant::now() => {
                // Bounded so an interrupt is noticed within 100 ms even at very low rates.
                let cap = Instant::now() + Duration::from_millis(100);
                timer.sleep_until(t.min(cap)).await
            }
            Some(_) => {}
            None if n >= limit => {}
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }

    // Flush what is still open, then wait for every outstanding response.
    for (p, slot) in open.iter_mut().enumerate() {
        if let Some(o) = slot.take() {
            seal(o, p, &mut leaders)?;
        }
    }
    for l in leaders.iter_mut() {
        while !l.ready.is_empty() {
            send_ready(l, &topic, &cfg, &stats).await?;
        }
    }
    let wait = response_limit(&cfg) * 2;
    for l in leaders {
        drop(l.pending);
        match tokio::time::timeout(wait, l.reader).await {
            Ok(Ok(r)) => r?,
            Ok(Err(e)) => return Err(BenchError::Run(format!("ack reader failed: {e}"))),
            Err(_) => return Err(BenchError::Run("timed out waiting for produce acks".into())),
        }
    }
    Ok(())
}

/// Records generated between two checks of the clock and linger deadlines.
const GENERATE_SLICE: u64 = 512;

/// How long to wait for a Produce response before failing the run.
fn response_limit(cfg: &Config) -> Duration {
    Duration::from_millis(cfg.request_timeout_ms as u64) + Duration::from_secs(5)
}

fn append(
    slot: &mut Option<Open>,
    capacity: usize,
    due: Instant,
    ts_ms: i64,
    key: Option<&[u8]>,
    stamp: u64,
    filler: &[u8],
) {
    let o = slot.get_or_insert_with(|| Open {
        builder: BatchEncoder::with_capacity(capacity),
        stamps: Vec::new(),
        opened: due,
    });
    // The value is the 8-byte stamp followed by the filler, written without joining them.
    o.builder
        .append_parts(ts_ms, key, &[&stamp.to_be_bytes(), filler]);
    o.stamps.push(stamp);
}

/// Sends one Produce request to this leader with at most one batch per partition (Kafka
/// requires exactly one batch per partition entry), waiting for an in-flight slot first.
async fn send_ready(
    l: &mut Leader,
    topic: &TopicName,
    cfg: &Config,
    stats: &Stats,
) -> Result<(), BenchError> {
    let permit = l
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| BenchError::Run("connection to leader failed (see above)".into()))?;
    let mut taken: Vec<Sealed> = Vec::new();
    let mut rest = VecDeque::new();
    while let Some(s) = l.ready.pop_front() {
        if taken.iter().any(|t| t.partition == s.partition) {
            rest.push_back(s);
        } else {
            taken.push(s);
        }
    }
    l.ready = rest;
    let partition_data = taken
        .iter()
        .map(|s| {
            PartitionProduceData::default()
                .with_index(s.partition as i32)
                .with_records(Some(s.bytes.clone()))
        })
        .collect();
    let req = ProduceRequest::default()
        .with_acks(cfg.acks)
        .with_timeout_ms(cfg.request_timeout_ms)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic.clone())
            .with_partition_data(partition_data)]);
    let before = l.writer.bytes_written;
    let records: u64 = taken.iter().map(|s| s.stamps.len() as u64).sum();
    // Register the pending entry before writing so the reader never sees an unknown response.
    let correlation_guess = l.writer.peek_correlation();
    if let Some(tx) = &l.pending {
        let batches = taken
            .into_iter()
            .map(|s| (s.partition, s.stamps, s.payload))
            .collect();
        let _ = tx.send(Pending {
            correlation: correlation_guess,
            version: l.version,
            batches,
            _permit: permit,
        });
    } else {
        // acks=0: no response will come; count records as acknowledged when written.
        let payload: u64 = taken.iter().map(|s| s.payload).sum();
        stats.acked_records.fetch_add(records, Relaxed);
        stats.acked_payload_bytes.fetch_add(payload, Relaxed);
        drop(permit);
    }
    let corr = l.writer.send(&req, l.version).await?;
    debug_assert_eq!(corr, correlation_guess);
    stats.sent_records.fetch_add(records, Relaxed);
    stats.produce_requests.fetch_add(1, Relaxed);
    stats
        .wire_bytes
        .fetch_add(l.writer.bytes_written - before, Relaxed);
    Ok(())
}

/// Reads Produce responses in order, accounting acks, errors and latency.
async fn read_acks(
    mut reader: ResponseReader,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    stats: Arc<Stats>,
    permits: Arc<Semaphore>,
    limit: Duration,
) -> Result<(), BenchError> {
    let result = async {
        while let Some(p) = rx.recv().await {
            let resp = reader
                .recv_within::<ProduceRequest>(p.correlation, p.version, limit)
                .await?;
            let now_us = stats.clock.now_us();
            let mut codes: HashMap<i32, i16> = HashMap::new();
            for t in &resp.responses {
                for pr in &t.partition_responses {
                    codes.insert(pr.index, pr.error_code);
                }
            }
            for (partition, stamps, payload) in &p.batches {
                match codes.get(&(*partition as i32)) {
                    Some(0) => {
                        stats.acked_records.fetch_add(stamps.len() as u64, Relaxed);
                        stats.acked_payload_bytes.fetch_add(*payload, Relaxed);
                        stats.record_acks(now_us, stamps);
                    }
                    other => {
                        stats.produce_errors.fetch_add(stamps.len() as u64, Relaxed);
                        let code = other.copied().unwrap_or(-1);
                        stats.last_produce_error.store(code as u16 as u64, Relaxed);
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        // Unblock the producer waiting for an in-flight slot.
        permits.close();
    }
    result
}
