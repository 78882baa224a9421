//! Who sends a catching-up fetch's record block (thousands of records behind
//! the log end): a backlog this process wrote moments ago, still in the page
//! cache, is sent by the connection's worker as a tailing fetch's is, none of
//! it from the cold pool. Data a cold catch-up's readahead put in the page
//! cache is still sent from the cold pool, though its pages are resident:
//! otherwise the fetches of a cold catch-up after its first would find their
//! data read ahead and have the workers `sendfile` it, a millisecond per
//! megabyte the tail waits out. Nor is a log that was on the disk when the
//! broker started sent by a worker: the kernel's readahead for a sequential
//! reader keeps its next megabytes resident whoever sends them. (The pool's
//! own sends of data not in the page cache are checked in
//! `fetch_zero_copy.rs`.) Its own test binary: it reads the process-wide
//! sendfile counters (its tests take turns, [`COUNTERS`]).

mod support;

use kafka_protocol::messages::{ApiKey, ResponseKind};
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

/// Held by each test while it reads the counters.
static COUNTERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every `.log` file under `dir`, written back and dropped from the page cache.
fn drop_logs_from_page_cache(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            drop_logs_from_page_cache(&path);
        } else if path.extension().is_some_and(|e| e == "log") {
            let f = std::fs::File::open(&path).unwrap();
            f.sync_all().unwrap();
            rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        }
    }
}

/// Fetch all of partition 0 of `topic` from offset 0 (thousands of records
/// behind the log end: a catch-up) and wait until its record block went out
/// with sendfile; the bytes of it sent from the cold pool.
async fn catch_up_from_start(c: &mut RawClient, topic: &str) -> u64 {
    let cold_before = weir::connection::cold_sendfile_bytes();
    let sent_before = weir::connection::sendfile_bytes();
    let ResponseKind::Fetch(resp) = c
        .call(fetch_req(topic, 0, 0, 1, 500), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 10_000);
    let records = p.records.clone().unwrap_or_default();
    let batches = weir_storage::batch::iter_batches_lenient(&records).count();
    assert_eq!(batches, 20, "every batch in one response");
    // The counters move right after each sendfile call returns: wait for them.
    let t0 = Instant::now();
    while weir::connection::sendfile_bytes() - sent_before < records.len() as u64 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the record block did not go out with sendfile"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    weir::connection::cold_sendfile_bytes() - cold_before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_a_cold_catch_up_read_ahead_is_sent_from_the_cold_pool() {
    let _turn = COUNTERS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "cold", 1).await;
    // 20 batches of 500 small records: 10,000 records (a fetch from 0 is
    // catching up) in ~120 KB (one block, large enough for sendfile, less
    // than the 1 MiB a worker may send of a catch-up).
    for i in 0..20 {
        let resp = produce_raw(&mut c, "cold", 0, batch(500, -1, -1, -1), 9).await;
        assert_eq!(resp.error_code, 0, "produce batch {i}");
    }
    // Written with pwrite and never touched through the broker's mapping:
    // the kernel can drop the pages once they are written back.
    drop_logs_from_page_cache(dir.path());
    let first = catch_up_from_start(&mut c, "cold").await;
    let tmpfs = rustix::fs::statfs(dir.path()).unwrap().f_type as i64 == 0x0102_1994;
    if tmpfs {
        // tmpfs keeps its pages in memory whatever the advice: the first read
        // was not cold, nothing was read ahead.
        eprintln!("the page cache cannot be dropped on tmpfs: nothing to check");
        broker.shutdown().await.unwrap();
        return;
    }
    // Its batch walk waited on the disk (and brought the pages in: they are
    // resident once it is done, yet the read was cold).
    assert!(first > 0, "a cold read was sent by the worker");
    // A second consumer (or the same one's next fetch) reads what the first
    // read brought in and read ahead: resident now, and still cold work.
    let second = catch_up_from_start(&mut c, "cold").await;
    assert!(
        second > 0,
        "data read ahead by a cold catch-up was sent by the worker"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_before_the_broker_started_is_sent_from_the_cold_pool() {
    let _turn = COUNTERS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "old", 1).await;
    for i in 0..20 {
        let resp = produce_raw(&mut c, "old", 0, batch(500, -1, -1, -1), 9).await;
        assert_eq!(resp.error_code, 0, "produce batch {i}");
    }
    drop(c);
    broker.shutdown().await.unwrap();
    // Restarted: the log is still in the page cache (written moments ago), but
    // this process did not write it.
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    let cold = catch_up_from_start(&mut c, "old").await;
    assert!(
        cold > 0,
        "a log older than the broker was sent by the worker"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catching_up_fetch_of_cached_data_is_not_sent_from_the_cold_pool() {
    let _turn = COUNTERS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    create_topic_raw(&mut c, "warm", 1).await;
    // 20 batches of 500 small records: 10,000 records (a fetch from 0 is
    // catching up) in ~120 KB (one block, large enough for sendfile).
    for i in 0..20 {
        let resp = produce_raw(&mut c, "warm", 0, batch(500, -1, -1, -1), 9).await;
        assert_eq!(resp.error_code, 0, "produce batch {i}");
    }
    let jobs = weir::cold_io::jobs();
    let cold = catch_up_from_start(&mut c, "warm").await;
    assert_eq!(cold, 0, "cached data was sent from the cold pool");
    // Nor read there: the worker reads a backlog in memory in place.
    assert_eq!(
        weir::cold_io::jobs(),
        jobs,
        "cached data was read on the cold pool"
    );
    broker.shutdown().await.unwrap();
}
