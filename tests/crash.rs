//! SIGKILL the real `weir` binary while a librdkafka producer writes with
//! acks=all and `log.flush.interval.messages=1`; after a restart on the same
//! data dir every acknowledged record is there, at its acknowledged offset,
//! unchanged. The crash loop does it again and again (N >= 10 restarts,
//! `WEIR_CRASH_CYCLES`) under one idempotent producer that outlives every
//! restart: nothing acknowledged is lost and nothing is stored twice.

mod support;

use support::{sigterm, spawn_weir, TestBroker};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_acks_all_production_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut weir = TestBroker::spawn(
        dir.path(),
        &[
            "--set",
            "log.flush.interval.messages=1",
            "--set",
            "num.partitions=2",
        ],
    );
    let addr = weir.bootstrap();

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("message.timeout.ms", "5000")
        .set("retries", "0")
        .create()
        .unwrap();
    let acked: Arc<Mutex<BTreeMap<(i32, i64), String>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (producer, acked, sent, stop) =
            (producer.clone(), acked.clone(), sent.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let value = format!("w{w}-m{i}");
                let key = format!("k{i}");
                i += 1;
                sent.fetch_add(1, Ordering::Relaxed);
                let rec = FutureRecord::to("crash").key(&key).payload(&value);
                match tokio::time::timeout(
                    Duration::from_secs(10),
                    producer.send(rec, Duration::from_secs(1)),
                )
                .await
                {
                    Ok(Ok(d)) => {
                        acked.lock().unwrap().insert((d.partition, d.offset), value);
                    }
                    _ => break, // the broker is gone
                }
            }
        }));
    }
    // Let some acknowledged traffic build up, then kill -9 mid-stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 300 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    weir.kill(); // SIGKILL
    drop(weir);
    stop.store(true, Ordering::Relaxed);
    // Deliveries still pending can only fail now; an ack not yet recorded only
    // makes the check weaker, never wrong.
    for t in tasks {
        t.abort();
    }
    drop(producer);
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 300,
        "only {} records acknowledged before the kill",
        acked.len()
    );

    // Restart on the same data dir (unclean: recovery runs) and read everything.
    let mut weir = TestBroker::spawn(dir.path(), &[]);
    let addr = weir.bootstrap();
    let acked_for_check = acked.clone();
    let found = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &addr)
            .set("group.id", "crash-check")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..2 {
            tpl.add_partition_offset("crash", p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let mut found: BTreeMap<(i32, i64), String> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && !acked_for_check.keys().all(|k| found.contains_key(k)) {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let v = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
                found.insert((m.partition(), m.offset()), v);
            }
        }
        found
    })
    .await
    .unwrap();
    sigterm(weir.child());
    let _ = weir.child().wait();
    let missing: Vec<_> = acked
        .iter()
        .filter(|(k, v)| found.get(*k) != Some(*v))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost or changed, e.g. {missing:?}",
        acked
            .iter()
            .filter(|(k, v)| found.get(*k) != Some(*v))
            .count()
    );
    eprintln!(
        "{} acknowledged records all recovered ({} found in total)",
        acked.len(),
        found.len()
    );
}

/// Consume partitions `0..partitions` of `topic` from the start until every
/// key of `want` is found (or 60 s pass); returns every record read.
fn read_all(
    addr: &str,
    topic: &str,
    partitions: i32,
    want: &BTreeMap<(i32, i64), String>,
) -> Vec<((i32, i64), String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "crash-loop-check")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let v = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
                seen.insert((m.partition(), m.offset()));
                found.push(((m.partition(), m.offset()), v));
                quiet_since = Instant::now();
            }
            _ => {
                // Everything acknowledged is in, and nothing more came for a second.
                if want.keys().all(|k| seen.contains(k))
                    && quiet_since.elapsed() > Duration::from_secs(1)
                {
                    break;
                }
            }
        }
    }
    found
}

/// `weir serve` on `listen` over `d` (the crash loop's settings); the port was
/// just freed by a killed process, so a failed start is retried briefly.
fn start_weir(listen: &str, d: &str) -> std::process::Child {
    let mut last = None;
    for _ in 0..20 {
        match std::panic::catch_unwind(|| {
            spawn_weir(&[
                "serve",
                "--listen",
                listen,
                "--data-dir",
                d,
                "--set",
                "log.flush.interval.messages=1",
                "--set",
                "num.partitions=2",
            ])
        }) {
            Ok((child, _)) => return child,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    std::panic::resume_unwind(last.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_under_an_idempotent_producer_loses_and_duplicates_nothing() {
    let cycles: usize = std::env::var("WEIR_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    // The broker reads WEIR_* variables as settings: this one is the test's own.
    std::env::remove_var("WEIR_CRASH_CYCLES");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    // One address for every restart, so the producer (and its idempotence) lives on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut weir = start_weir(&listen, &d);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &listen)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        // Long enough to outlive every restart: what is in flight is retried.
        .set("message.timeout.ms", "120000")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "500")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .create()
        .unwrap();
    let acked: Arc<Mutex<BTreeMap<(i32, i64), String>>> = Arc::default();
    let failed: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..2 {
        let (producer, acked, failed, stop) = (
            producer.clone(),
            acked.clone(),
            failed.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut pending = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let value = format!("w{w}-m{i}");
                let key = format!("k{}", i % 7);
                i += 1;
                let rec = FutureRecord::to("crash-loop").key(&key).payload(&value);
                match producer.send_result(rec) {
                    Ok(delivery) => pending.push((value, delivery)),
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await, // queue full
                }
                if pending.len() >= 20 {
                    for (value, d) in pending.drain(..) {
                        record(&acked, &failed, value, d.await.map_err(|_| ()));
                    }
                }
            }
            for (value, d) in pending.drain(..) {
                record(&acked, &failed, value, d.await.map_err(|_| ()));
            }
        }));
    }
    fn record(
        acked: &Mutex<BTreeMap<(i32, i64), String>>,
        failed: &Mutex<Vec<String>>,
        value: String,
        d: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, ()>,
    ) {
        match d {
            Ok(Ok(d)) => {
                acked.lock().unwrap().insert((d.partition, d.offset), value);
            }
            Ok(Err((e, _))) => failed.lock().unwrap().push(format!("{value}: {e}")),
            Err(_) => failed.lock().unwrap().push(format!("{value}: canceled")),
        }
    }
    let mut kills = 0;
    for cycle in 0..cycles {
        let target = acked.lock().unwrap().len() + 100;
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().len() < target {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: no progress (acked {}, failures {:?})",
                acked.lock().unwrap().len(),
                failed.lock().unwrap().iter().take(3).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        weir.kill().unwrap(); // SIGKILL mid-stream
        let _ = weir.wait();
        kills += 1;
        weir = tokio::task::spawn_blocking({
            let (listen, d) = (listen.clone(), d.clone());
            move || start_weir(&listen, &d)
        })
        .await
        .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        support::bounded_for(Duration::from_secs(150), "in-flight deliveries", t)
            .await
            .unwrap();
    }
    drop(producer);
    let failed = failed.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "{} deliveries failed (an idempotent producer retries through restarts), e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    let acked = acked.lock().unwrap().clone();
    let (addr, want) = (listen.clone(), acked.clone());
    let found = tokio::task::spawn_blocking(move || read_all(&addr, "crash-loop", 2, &want))
        .await
        .unwrap();
    sigterm(&weir);
    let _ = weir.wait();
    let stored: BTreeMap<(i32, i64), String> = found.iter().cloned().collect();
    let lost: Vec<_> = acked
        .iter()
        .filter(|(k, v)| stored.get(*k) != Some(*v))
        .collect();
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, v) in &found {
        *copies.entry(v.as_str()).or_default() += 1;
    }
    let duplicated: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "{kills} SIGKILLs: {} records acknowledged, {} stored, {} lost, {} duplicated",
        acked.len(),
        found.len(),
        lost.len(),
        duplicated.len()
    );
    assert!(kills >= cycles);
    assert!(
        lost.is_empty(),
        "acknowledged records lost or changed, e.g. {:?}",
        &lost[..lost.len().min(5)]
    );
    assert!(
        duplicated.is_empty(),
        "records stored more than once, e.g. {:?}",
        &duplicated[..duplicated.len().min(5)]
    );
}
