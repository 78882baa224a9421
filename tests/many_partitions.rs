//! Many partitions on one node (issue #20): partitions created in bulk open no
//! file before first use, logs past the open-segment cap close and reopen with
//! their data, a restart opens nothing, and after SIGKILL every partition is
//! recovered before it is served: every acknowledged record readable, no torn
//! batch served, appends continue right after the last good batch.

mod support;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, RequestKind, ResponseKind};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;
use weir_storage::batch::iter_batches_lenient;

/// One CreateTopics request for `topics` topics of `partitions` partitions each.
async fn create_many(c: &mut RawClient, prefix: &str, topics: usize, partitions: i32) {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(60_000)
        .with_topics(
            (0..topics)
                .map(|i| {
                    CreatableTopic::default()
                        .with_name(tname(&format!("{prefix}{i}")))
                        .with_num_partitions(partitions)
                        .with_replication_factor(1)
                })
                .collect(),
        );
    let ResponseKind::CreateTopics(resp) = c
        .call(RequestKind::CreateTopics(req), ApiKey::CreateTopics, 7)
        .await
    else {
        panic!()
    };
    assert_eq!(resp.topics.len(), topics);
    for t in &resp.topics {
        assert_eq!(t.error_code, 0, "{:?}: {:?}", t.name, t.error_message);
    }
}

/// Every record (offset, value) of a partition from `offset` on, and the high watermark.
async fn read_from(
    c: &mut RawClient,
    topic: &str,
    partition: i32,
    offset: i64,
) -> (Vec<(i64, String)>, i64) {
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req(topic, partition, offset, 1, 0), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0, "fetch {topic}-{partition}");
    let records = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut whole = 0;
    for b in iter_batches_lenient(&records) {
        b.validate_crc().expect("no batch with a bad CRC is served");
        whole += b.total_len();
        for r in b.records().unwrap() {
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    assert_eq!(whole, records.len(), "only whole batches are served");
    (out, p.high_watermark)
}

/// Every record of a partition (a fetch returns one segment's batches at most).
async fn read_partition(
    c: &mut RawClient,
    topic: &str,
    partition: i32,
) -> (Vec<(i64, String)>, i64) {
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let (recs, hw) = read_from(c, topic, partition, offset).await;
        let Some(&(last, _)) = recs.last() else {
            return (all, hw);
        };
        all.extend(recs);
        offset = last + 1;
        if offset >= hw {
            return (all, hw);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_created_in_bulk_open_lazily_close_under_the_cap_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = start_broker(dir.path(), &[("weir.log.max.open.segments", "8")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_many(&mut c, "bulk", 60, 5).await;
    let first = dir.path().join("bulk0-0");
    assert!(first.is_dir(), "partition directories are created");
    assert_eq!(
        std::fs::read_dir(&first).unwrap().count(),
        0,
        "no segment file before first use"
    );
    for t in 0..60 {
        for p in 0..5 {
            let r = produce_raw(&mut c, &format!("bulk{t}"), p, batch(1, -1, -1, -1), 9).await;
            assert_eq!(r.error_code, 0);
            assert_eq!(r.base_offset, 0);
        }
    }
    let open = broker.state().store.open_log_count();
    assert!(open <= 12, "{open} logs open under a cap of 8 segments");
    for t in 0..60 {
        for p in 0..5 {
            let (recs, hw) = read_from(&mut c, &format!("bulk{t}"), p, 0).await;
            assert_eq!(hw, 1);
            assert_eq!(recs, vec![(0, "v0".to_string())]);
        }
    }
    drop(c);
    broker.restart().await;
    assert!(
        broker.state().store.open_log_count() <= 2,
        "a clean start opens no partition log"
    );
    let mut c = RawClient::connect(broker.addr()).await;
    for t in (0..60).step_by(7) {
        let r = produce_raw(&mut c, &format!("bulk{t}"), 4, batch(1, -1, -1, -1), 9).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(r.base_offset, 1, "appends continue after a restart");
        let (recs, hw) = read_partition(&mut c, &format!("bulk{t}"), 4).await;
        assert_eq!(hw, 2);
        assert_eq!(recs, vec![(0, "v0".to_string()), (1, "v0".to_string())]);
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_writing_many_partitions_loses_no_acknowledged_record_and_serves_no_torn_batch(
) {
    const PARTS: i32 = 100;
    let dir = tempfile::tempdir().unwrap();
    let cap = ["--set", "weir.log.max.open.segments=16"];
    let mut weir = TestBroker::spawn(dir.path(), &cap);
    let mut c = RawClient::connect(weir.addr()).await;
    create_many(&mut c, "many", 1, PARTS).await;
    drop(c);

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", weir.bootstrap())
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("message.timeout.ms", "5000")
        .set("retries", "0")
        .create()
        .unwrap();
    let acked: Arc<Mutex<BTreeMap<(i32, i64), String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (producer, acked, stop) = (producer.clone(), acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let value = format!("w{w}-m{i}");
                let partition = (i * 4 + w) % PARTS;
                i += 1;
                let rec = FutureRecord::<(), _>::to("many0")
                    .partition(partition)
                    .payload(&value);
                match tokio::time::timeout(
                    Duration::from_secs(10),
                    producer.send(rec, Duration::from_secs(1)),
                )
                .await
                {
                    Ok(Ok(d)) => {
                        acked.lock().unwrap().insert((d.partition, d.offset), value);
                    }
                    Ok(Err((e, _))) => {
                        if !stop.load(Ordering::Relaxed) {
                            eprintln!("delivery failed: {e}");
                        }
                        break; // the broker is gone
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 1000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    weir.kill(); // SIGKILL, mid-stream
    drop(weir);
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    drop(producer);
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 1000, "only {} acknowledged", acked.len());

    // Tear the tail of a few logs as a crash mid-write would: half a batch.
    const TORN: i32 = 5;
    for p in 0..TORN {
        let seg = dir
            .path()
            .join(format!("many0-{p}"))
            .join("00000000000000000000.log");
        let data = std::fs::read(&seg).unwrap();
        assert!(data.len() > 40, "partition {p} was written");
        let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
        std::io::Write::write_all(&mut f, &data[..40]).unwrap();
    }

    // Restart (unclean: every log recovers on first use or in the background).
    let weir = TestBroker::spawn(dir.path(), &cap);
    let mut c = RawClient::connect(weir.addr()).await;
    let mut found: BTreeMap<(i32, i64), String> = BTreeMap::new();
    let mut ends = BTreeMap::new();
    for p in 0..PARTS {
        let (recs, hw) = read_partition(&mut c, "many0", p).await;
        ends.insert(p, hw);
        for (o, v) in recs {
            found.insert((p, o), v);
        }
    }
    let missing: Vec<_> = acked
        .iter()
        .filter(|(k, v)| found.get(*k) != Some(*v))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged records lost or changed, e.g. {missing:?}"
    );
    // The torn tails were cut: appends go right after the last good batch and
    // read back whole.
    for p in 0..TORN {
        let end = ends[&p];
        let r = produce_raw(&mut c, "many0", p, batch(1, -1, -1, -1), 9).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(r.base_offset, end, "partition {p} continues at its end");
        let (recs, hw) = read_from(&mut c, "many0", p, end).await;
        assert_eq!(recs, vec![(end, "v0".to_string())]);
        assert_eq!(hw, end + 1);
    }
    eprintln!(
        "{} acknowledged records over {PARTS} partitions all recovered ({} found)",
        acked.len(),
        found.len()
    );
    drop(c);
    let mut weir = weir;
    sigterm(weir.child());
    let _ = wait_exit(weir.child(), Duration::from_secs(10));
}
