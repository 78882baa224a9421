//! SIGKILL the real `weir` binary while a librdkafka producer writes with
//! acks=all and `log.flush.interval.messages=1`; after a restart on the same
//! data dir every acknowledged record is there, at its acknowledged offset,
//! unchanged.

mod support;

use support::{sigterm, TestBroker};

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
