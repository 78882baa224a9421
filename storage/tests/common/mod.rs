//! Helpers shared by the storage integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use weir_storage::batch::iter_batches;
use weir_storage::{BatchBuilder, Compression, Record};

/// A batch of `n` records with values `"<tag>-<i>"`, timestamps `ts + i`.
pub fn batch(n: usize, ts: i64, tag: &str) -> Vec<u8> {
    batch_with(n, ts, tag, Compression::None)
}

pub fn batch_with(n: usize, ts: i64, tag: &str, codec: Compression) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.compression = codec;
    for i in 0..n {
        b.push(Record {
            offset: i as i64,
            timestamp: ts + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("{tag}-{i}"))),
            headers: vec![],
        });
    }
    b.build().unwrap()
}

/// Every record value in a read result, with its offset.
pub fn values(buf: &[u8]) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for b in iter_batches(buf) {
        let b = b.unwrap();
        b.validate_crc().unwrap();
        for r in b.records().unwrap() {
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    out
}
