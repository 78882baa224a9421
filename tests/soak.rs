//! The soak (issue 16): the real `weir` binary under a mixed, moderate load
//! for a given time: an idempotent producer, a transactional producer
//! (commits, every fifth transaction aborted), a consumer group whose members
//! come and go (rebalances), a read_committed consumer. The broker's memory
//! (RssAnon: its heap; VmRSS also counts mapped segments, which grow with the
//! data), open files and threads are sampled every second and printed as
//! min/median/max; the run fails on any client error or when the second half
//! grows past the first.
//!
//! Runs only with `WEIR_SOAK=1` (`WEIR_SOAK_SECS`, default 60); `benches/soak
//! [SECS] [cargo test args]` runs it (e.g. `benches/soak 1800 --release` by hand).

mod support;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use rdkafka::Message;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::TestBroker;

/// One sample of the broker process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_anon_kb: u64,
    vm_rss_kb: u64,
    fds: u64,
    threads: u64,
}

fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    Sample {
        rss_anon_kb: field("RssAnon:"),
        vm_rss_kb: field("VmRSS:"),
        threads: field("Threads:"),
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count() as u64,
    }
}

/// min / median / max.
fn spread(mut v: Vec<u64>) -> (u64, u64, u64) {
    v.sort_unstable();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

#[derive(Default)]
struct Tally {
    produced: AtomicU64,
    committed_txns: AtomicU64,
    aborted_txns: AtomicU64,
    consumed: AtomicU64,
    consumed_committed: AtomicU64,
    rebalances: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Tally {
    fn error(&self, what: &str, e: impl std::fmt::Display) {
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 50 {
            errors.push(format!("{what}: {e}"));
        }
    }
}

fn base(addr: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr).set("log_level", "3");
    c
}

/// An error a consumer reports that is not a failure (end of a partition).
fn benign(e: &KafkaError) -> bool {
    matches!(e, KafkaError::PartitionEOF(_))
}

#[test]
fn soak_mixed_load_keeps_memory_files_and_threads_flat() {
    if std::env::var("WEIR_SOAK").as_deref() != Ok("1") {
        eprintln!("soak skipped: set WEIR_SOAK=1 (benches/soak runs it)");
        return;
    }
    let secs: u64 = std::env::var("WEIR_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    // The broker reads WEIR_* variables as settings: these two are the test's own.
    std::env::remove_var("WEIR_SOAK");
    std::env::remove_var("WEIR_SOAK_SECS");
    let dir = tempfile::tempdir().unwrap();
    let mut weir = TestBroker::spawn(dir.path(), &["--set", "num.partitions=3"]);
    let addr = weir.bootstrap();
    let pid = weir.child().id();
    create_topics(&addr, &["soak-plain", "soak-txn"]);
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut workers = Vec::new();

    // An idempotent producer, ~500 records/s.
    {
        let (addr, stop, tally) = (addr.clone(), stop.clone(), tally.clone());
        workers.push(std::thread::spawn(move || {
            let p: ThreadedProducer<DefaultProducerContext> = base(&addr)
                .set("enable.idempotence", "true")
                .set("acks", "all")
                .set("linger.ms", "5")
                .create()
                .unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..50 {
                    let key = format!("k{}", i % 100);
                    let value = format!("plain-{i}-{}", "x".repeat(100));
                    match p.send(BaseRecord::to("soak-plain").key(&key).payload(&value)) {
                        Ok(()) => {
                            tally.produced.fetch_add(1, Ordering::Relaxed);
                        }
                        Err((e, _)) => tally.error("produce", e),
                    }
                    i += 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Err(e) = p.flush(Duration::from_secs(30)) {
                tally.error("producer flush", e);
            }
        }));
    }

    // A transactional producer: 10 records a transaction, every fifth aborted.
    {
        let (addr, stop, tally) = (addr.clone(), stop.clone(), tally.clone());
        workers.push(std::thread::spawn(move || {
            let p: ThreadedProducer<DefaultProducerContext> = base(&addr)
                .set("transactional.id", "soak-txn")
                .set("linger.ms", "5")
                .create()
                .unwrap();
            let t = Duration::from_secs(30);
            if let Err(e) = p.init_transactions(t) {
                tally.error("init_transactions", e);
                return;
            }
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let run = || -> Result<bool, KafkaError> {
                    p.begin_transaction()?;
                    for j in 0..10 {
                        let value = format!("txn-{n}-{j}");
                        p.send(BaseRecord::<str, str>::to("soak-txn").payload(&value))
                            .map_err(|(e, _)| e)?;
                    }
                    if n % 5 == 4 {
                        p.abort_transaction(t)?;
                        Ok(false)
                    } else {
                        p.commit_transaction(t)?;
                        Ok(true)
                    }
                };
                match run() {
                    Ok(true) => {
                        tally.committed_txns.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => {
                        tally.aborted_txns.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tally.error("transaction", e);
                        return;
                    }
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }

    // A consumer group on soak-plain: two members; one leaves and rejoins every 10 s.
    for member in 0..2 {
        let (addr, stop, tally) = (addr.clone(), stop.clone(), tally.clone());
        workers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let c: BaseConsumer = base(&addr)
                    .set("group.id", "soak-group")
                    .set("auto.offset.reset", "earliest")
                    .set("enable.auto.commit", "false")
                    .set("session.timeout.ms", "10000")
                    .set("heartbeat.interval.ms", "500")
                    .create()
                    .unwrap();
                c.subscribe(&["soak-plain"]).unwrap();
                tally.rebalances.fetch_add(1, Ordering::Relaxed);
                let life = Instant::now();
                let mut since_commit = 0;
                while !stop.load(Ordering::Relaxed)
                    && (member == 0 || life.elapsed() < Duration::from_secs(10))
                {
                    match c.poll(Duration::from_millis(100)) {
                        Some(Ok(_)) => {
                            tally.consumed.fetch_add(1, Ordering::Relaxed);
                            since_commit += 1;
                        }
                        Some(Err(e)) if benign(&e) => {}
                        Some(Err(e)) => tally.error("group consumer", e),
                        None => {}
                    }
                    if since_commit >= 200 {
                        since_commit = 0;
                        match c.commit_consumer_state(CommitMode::Sync) {
                            Ok(()) => {}
                            // Nothing consumed since the last commit (or a rebalance moved
                            // the partitions): not a failure.
                            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                            Err(e) => tally.error("commit", e),
                        }
                    }
                }
                c.unsubscribe();
            }
        }));
    }

    // A read_committed consumer of soak-txn: no aborted record may show.
    {
        let (addr, stop, tally) = (addr.clone(), stop.clone(), tally.clone());
        workers.push(std::thread::spawn(move || {
            let c: BaseConsumer = base(&addr)
                .set("group.id", "soak-committed")
                .set("auto.offset.reset", "earliest")
                .set("isolation.level", "read_committed")
                .create()
                .unwrap();
            c.subscribe(&["soak-txn"]).unwrap();
            while !stop.load(Ordering::Relaxed) {
                match c.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) => {
                        let v = String::from_utf8_lossy(m.payload().unwrap_or_default());
                        let n: u64 = v
                            .split('-')
                            .nth(1)
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0);
                        if n % 5 == 4 {
                            tally.error("read_committed", format!("saw aborted record {v}"));
                        }
                        tally.consumed_committed.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Err(e)) if benign(&e) => {}
                    Some(Err(e)) => tally.error("read_committed consumer", e),
                    None => {}
                }
            }
        }));
    }

    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        samples.push(sample(pid));
        if secs >= 600 && samples.len() % 60 == 0 {
            // A long run by hand: the curve, one line a minute.
            let s = samples[samples.len() - 1];
            eprintln!(
                "  t={:>5} s  RssAnon {:>7} kB  VmRSS {:>7} kB  files {:>5}  threads {:>3}  produced {}",
                start.elapsed().as_secs(),
                s.rss_anon_kb,
                s.vm_rss_kb,
                s.fds,
                s.threads,
                tally.produced.load(Ordering::Relaxed),
            );
        }
        if !tally.errors.lock().unwrap().is_empty() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker thread");
    }
    assert!(
        weir.child().try_wait().unwrap().is_none(),
        "the broker exited during the soak"
    );

    let show = |name: &str, v: Vec<u64>| {
        let (min, med, max) = spread(v);
        eprintln!("  {name:<12} min {min:>8}  median {med:>8}  max {max:>8}");
    };
    eprintln!(
        "soak: {} s, {} samples; {} produced, {} transactions committed, {} aborted, \
         {} consumed by the group ({} member starts), {} read_committed",
        start.elapsed().as_secs(),
        samples.len(),
        tally.produced.load(Ordering::Relaxed),
        tally.committed_txns.load(Ordering::Relaxed),
        tally.aborted_txns.load(Ordering::Relaxed),
        tally.consumed.load(Ordering::Relaxed),
        tally.rebalances.load(Ordering::Relaxed),
        tally.consumed_committed.load(Ordering::Relaxed),
    );
    show(
        "RssAnon kB",
        samples.iter().map(|s| s.rss_anon_kb).collect(),
    );
    show("VmRSS kB", samples.iter().map(|s| s.vm_rss_kb).collect());
    show("open files", samples.iter().map(|s| s.fds).collect());
    show("threads", samples.iter().map(|s| s.threads).collect());

    let errors = tally.errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "client errors: {errors:#?}");
    assert!(
        tally.committed_txns.load(Ordering::Relaxed) > 0
            && tally.consumed.load(Ordering::Relaxed) > 0
            && tally.consumed_committed.load(Ordering::Relaxed) > 0,
        "some part of the load made no progress"
    );
    // Flat: the second half may not grow past the first (beyond a margin for
    // allocator and buffer noise).
    let half = samples.len() / 2;
    let (first, second) = samples.split_at(half.max(1));
    let peak = |s: &[Sample], f: fn(&Sample) -> u64| s.iter().map(f).max().unwrap_or(0);
    let (a, b) = (
        peak(first, |s| s.rss_anon_kb),
        peak(second, |s| s.rss_anon_kb),
    );
    assert!(
        b <= a + a / 4 + 16 * 1024,
        "heap grew: {a} kB in the first half, {b} kB in the second"
    );
    let (a, b) = (peak(first, |s| s.fds), peak(second, |s| s.fds));
    assert!(b <= a + 16, "open files grew: {a} then {b}");
    let (a, b) = (peak(first, |s| s.threads), peak(second, |s| s.threads));
    assert!(b <= a + 8, "threads grew: {a} then {b}");
    sigterm_and_wait(&mut weir);
}

/// Create the topics before any client subscribes (a consumer of a missing topic
/// reports UNKNOWN_TOPIC_OR_PARTITION, as with Kafka).
fn create_topics(addr: &str, topics: &[&str]) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = base(addr).create().unwrap();
    let new: Vec<_> = topics
        .iter()
        .map(|t| NewTopic::new(t, 3, TopicReplication::Fixed(1)))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt
        .block_on(admin.create_topics(&new, &AdminOptions::new()))
        .expect("CreateTopics");
    for r in results {
        r.expect("topic created");
    }
}

fn sigterm_and_wait(weir: &mut TestBroker) {
    support::sigterm(weir.child());
    let status = support::wait_exit(weir.child(), Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "clean shutdown after the soak: {status:?}"
    );
}
