//! A catching-up fetch (thousands of records behind the log end) of data that
//! is still in the page cache (written moments ago) is read on the cold pool
//! but sent by the connection's worker, as a tailing fetch's is: its record
//! block goes out with `sendfile(2)` and none of it from the cold pool (the
//! pool's own sends, of data not in the page cache, are checked in
//! `fetch_zero_copy.rs`). Its own test binary: it reads the process-wide
//! sendfile counters, which other tests running beside it would move.

mod support;

use kafka_protocol::messages::{ApiKey, ResponseKind};
use std::time::{Duration, Instant};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catching_up_fetch_of_cached_data_is_not_sent_from_the_cold_pool() {
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
    let cold_before = weir::connection::cold_sendfile_bytes();
    let sent_before = weir::connection::sendfile_bytes();

    let ResponseKind::Fetch(resp) = c
        .call(fetch_req("warm", 0, 0, 1, 500), ApiKey::Fetch, 12)
        .await
    else {
        panic!()
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 10_000);
    let records = p.records.clone().unwrap_or_default();
    assert!(records.len() >= 64 << 10, "{} bytes", records.len());
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
    assert_eq!(
        weir::connection::cold_sendfile_bytes() - cold_before,
        0,
        "cached data was sent from the cold pool"
    );
    broker.shutdown().await.unwrap();
}
