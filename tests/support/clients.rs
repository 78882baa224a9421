//! librdkafka clients for the consumer-group tests: group members driven by a
//! poll thread each, workers that process and commit, a producer, and the
//! bounded waits and audits the group tests share.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, TopicPartitionList};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts rebalance callbacks.
#[derive(Default)]
pub struct Counting {
    pub assigns: AtomicUsize,
    pub revokes: AtomicUsize,
    /// Partitions revoked over the consumer's life (partition numbers).
    pub revoked: Mutex<Vec<i32>>,
}

pub struct CountingContext(pub Arc<Counting>);

impl ClientContext for CountingContext {}

impl ConsumerContext for CountingContext {
    fn pre_rebalance(&self, _c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        match r {
            Rebalance::Assign(_) => {
                self.0.assigns.fetch_add(1, Ordering::SeqCst);
            }
            Rebalance::Revoke(tpl) => {
                self.0.revokes.fetch_add(1, Ordering::SeqCst);
                self.0
                    .revoked
                    .lock()
                    .unwrap()
                    .extend(tpl.elements().iter().map(|e| e.partition()));
            }
            Rebalance::Error(_) => {}
        }
    }
}

/// A librdkafka group member with a thread calling `poll`.
pub struct Member {
    pub consumer: Arc<BaseConsumer<CountingContext>>,
    pub counts: Arc<Counting>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) poller: Option<std::thread::JoinHandle<()>>,
}

pub fn client_config(addr: &str, group: &str, extra: &[(&str, &str)]) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", addr)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .set("log_level", "3");
    for (k, v) in extra {
        cfg.set(*k, *v);
    }
    cfg
}

impl Member {
    /// Create a consumer, subscribe to `topics`, start polling.
    pub fn join(addr: &str, group: &str, topics: &[&str], extra: &[(&str, &str)]) -> Member {
        Member::join_with(addr, group, topics, extra, &[])
    }

    /// Like [`Member::join`], without the client settings named in `unset`.
    pub fn join_with(
        addr: &str,
        group: &str,
        topics: &[&str],
        extra: &[(&str, &str)],
        unset: &[&str],
    ) -> Member {
        let counts = Arc::new(Counting::default());
        let mut cfg = client_config(addr, group, extra);
        for k in unset {
            cfg.remove(k);
        }
        let consumer: BaseConsumer<CountingContext> = cfg
            .create_with_context(CountingContext(counts.clone()))
            .expect("consumer created");
        consumer.subscribe(topics).expect("subscribe");
        let consumer = Arc::new(consumer);
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (consumer.clone(), stop.clone());
        let poller = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let _ = c.poll(Duration::from_millis(50));
            }
        });
        Member {
            consumer,
            counts,
            stop,
            poller: Some(poller),
        }
    }

    /// Partition numbers currently assigned.
    pub fn partitions(&self) -> BTreeSet<i32> {
        self.consumer
            .assignment()
            .map(|a| a.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default()
    }

    /// (topic, partition) pairs currently assigned.
    pub fn topic_partitions(&self) -> BTreeSet<(String, i32)> {
        self.consumer
            .assignment()
            .map(|a| {
                a.elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn assigns(&self) -> usize {
        self.counts.assigns.load(Ordering::SeqCst)
    }

    /// Stop polling and close the consumer (sends LeaveGroup for dynamic members).
    pub fn close(self) {
        // Drop stops the poll thread, then the consumer itself is dropped (closed).
    }

    /// Commit explicit offsets for topic `topic` synchronously.
    pub fn commit(&self, topic: &str, offsets: &[(i32, i64)]) {
        let mut tpl = TopicPartitionList::new();
        for (p, o) in offsets {
            tpl.add_partition_offset(topic, *p, rdkafka::Offset::Offset(*o))
                .unwrap();
        }
        self.consumer
            .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
            .expect("commit");
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(p) = self.poller.take() {
            let _ = p.join();
        }
    }
}

/// Wait until `cond` holds, polling every 50 ms, for at most `secs`; panics with `what`.
pub fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {secs}s waiting for: {what}");
}

/// Whether the members' assignments are disjoint and together cover 0..n.
pub fn covers_disjoint(members: &[&Member], n: i32) -> bool {
    let sets: Vec<BTreeSet<i32>> = members.iter().map(|m| m.partitions()).collect();
    let total: usize = sets.iter().map(|s| s.len()).sum();
    let union: BTreeSet<i32> = sets.iter().flatten().copied().collect();
    total == n as usize && union == (0..n).collect() && sets.iter().all(|s| !s.is_empty())
}

/// Committed offsets of a group for partitions 0..n of `topic`, read by a fresh
/// client (OffsetFetch over the wire); -1001 (librdkafka's INVALID) = none.
pub fn committed(addr: &str, group: &str, topic: &str, n: i32) -> Vec<i64> {
    let c: BaseConsumer = client_config(addr, group, &[]).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..n {
        tpl.add_partition(topic, p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    (0..n)
        .map(|p| match got.find_partition(topic, p).unwrap().offset() {
            rdkafka::Offset::Offset(o) => o,
            _ => -1001,
        })
        .collect()
}

/// Processed records in processing order: (member name, partition, offset,
/// whether the commit of that record's offset then succeeded).
pub type Seen = Arc<Mutex<Vec<(String, i32, i64, bool)>>>;

/// Produce `per_partition` records to each of partitions 0..n of `topic`
/// (value = "p<partition>-<i>"), acknowledged by the broker.
pub fn produce(addr: &str, topic: &str, n: i32, per_partition: i32) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "5")
        .create()
        .expect("producer created");
    for i in 0..per_partition {
        for part in 0..n {
            let value = format!("p{part}-{i}");
            loop {
                match p.send(
                    BaseRecord::<(), str>::to(topic)
                        .partition(part)
                        .payload(&value),
                ) {
                    Ok(()) => break,
                    Err((e, _))
                        if e.rdkafka_error_code()
                            == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
                    {
                        p.poll(Duration::from_millis(10));
                    }
                    Err((e, _)) => panic!("produce failed: {e}"),
                }
            }
        }
    }
    p.flush(Duration::from_secs(30))
        .expect("all records acknowledged");
}

/// A group member that processes every record (records it in `seen`, then
/// commits its offset synchronously) and sleeps `pause` per record.
pub struct Worker {
    pub member: Member,
}

impl Worker {
    /// Start a worker with client settings `cfg` (see [`client_config`]).
    pub fn start(
        cfg: ClientConfig,
        topic: &str,
        name: &str,
        seen: Seen,
        pause: Duration,
    ) -> Worker {
        let counts = Arc::new(Counting::default());
        let consumer: BaseConsumer<CountingContext> = cfg
            .create_with_context(CountingContext(counts.clone()))
            .expect("consumer created");
        consumer.subscribe(&[topic]).expect("subscribe");
        let consumer = Arc::new(consumer);
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s, name) = (consumer.clone(), stop.clone(), name.to_string());
        let poller = std::thread::spawn(move || {
            use rdkafka::Message;
            while !s.load(Ordering::Relaxed) {
                if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                    // Commit synchronously; a failed commit (rebalance, restart) leaves the
                    // record past the last commit, where reprocessing is legitimate.
                    let ok = c
                        .commit_message(&m, rdkafka::consumer::CommitMode::Sync)
                        .is_ok();
                    seen.lock()
                        .unwrap()
                        .push((name.clone(), m.partition(), m.offset(), ok));
                    std::thread::sleep(pause);
                }
            }
        });
        Worker {
            member: Member {
                consumer,
                counts,
                stop,
                poller: Some(poller),
            },
        }
    }
}

/// (reprocessed records with who saw them, missing records) of [`audit`].
pub type Audit = (Vec<(i32, i64, Vec<String>)>, Vec<(i32, i64)>);

/// What went wrong in a run: records processed again after their commit had
/// succeeded (the consumer did not resume at the last commit), and records
/// never processed. Reprocessing a record whose commit failed is allowed.
pub fn audit(seen: &Seen, n: i32, per_partition: i64) -> Audit {
    let seen = seen.lock().unwrap();
    let mut by: std::collections::BTreeMap<(i32, i64), Vec<(String, bool)>> = Default::default();
    for (who, p, o, ok) in seen.iter() {
        by.entry((*p, *o)).or_default().push((who.clone(), *ok));
    }
    let reprocessed = by
        .iter()
        .filter(|(_, w)| w[..w.len() - 1].iter().any(|(_, ok)| *ok))
        .map(|((p, o), w)| {
            (
                *p,
                *o,
                w.iter().map(|(n, ok)| format!("{n}:{ok}")).collect(),
            )
        })
        .collect();
    let missing = (0..n)
        .flat_map(|p| (0..per_partition).map(move |o| (p, o)))
        .filter(|k| !by.contains_key(k))
        .collect();
    (reprocessed, missing)
}

/// How many records were processed more than once (allowed only past the last commit).
pub fn duplicates(seen: &Seen) -> usize {
    let seen = seen.lock().unwrap();
    let keys: BTreeSet<(i32, i64)> = seen.iter().map(|(_, p, o, _)| (*p, *o)).collect();
    seen.len() - keys.len()
}
