//! Record batches produced by a real client (librdkafka 2.0.2 via kcat, captured
//! by tests/fixtures/capture.py) decode with every codec, and survive a trip
//! through the log unchanged apart from the base offset.

mod common;

use weir_storage::batch::{iter_batches, validate_record_set, BatchHeader};
use weir_storage::{AppendOptions, Compression, LogConfig, Store, TopicPartition};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The records capture.py sends: line i is "key-i:value i " + "abcdefgh" * (i % 7).
fn expected(i: usize) -> (String, String) {
    (
        format!("key-{i}"),
        format!("value {i} ") + &"abcdefgh".repeat(i % 7),
    )
}

fn check_records(bytes: &[u8], codec: Compression) {
    validate_record_set(bytes).unwrap();
    let mut n = 0;
    for b in iter_batches(bytes) {
        let b = b.unwrap();
        assert_eq!(b.compression().unwrap(), codec);
        for r in b.records().unwrap() {
            let (k, v) = expected(n);
            assert_eq!(r.key.as_deref(), Some(k.as_bytes()), "{codec:?} record {n}");
            assert_eq!(
                r.value.as_deref(),
                Some(v.as_bytes()),
                "{codec:?} record {n}"
            );
            assert_eq!(
                r.offset - b.base_offset(),
                n as i64 - first_offset_of(bytes, &b)
            );
            assert!(r.timestamp > 1_600_000_000_000, "a real CreateTime");
            n += 1;
        }
    }
    assert_eq!(n, 50, "{codec:?}: all records decoded");
}

fn first_offset_of(all: &[u8], batch: &BatchHeader<'_>) -> i64 {
    // Records before this batch in the file.
    let mut before = 0;
    for b in iter_batches(all) {
        let b = b.unwrap();
        if std::ptr::eq(b.bytes().as_ptr(), batch.bytes().as_ptr()) {
            break;
        }
        before += b.record_count() as i64;
    }
    before
}

#[test]
fn librdkafka_uncompressed_batches_decode() {
    check_records(&fixture("none.bin"), Compression::None);
}

#[test]
fn librdkafka_gzip_batches_decode() {
    check_records(&fixture("gzip.bin"), Compression::Gzip);
}

#[test]
fn librdkafka_raw_snappy_batches_decode() {
    check_records(&fixture("snappy.bin"), Compression::Snappy);
}

#[test]
fn librdkafka_lz4_frame_batches_decode() {
    check_records(&fixture("lz4.bin"), Compression::Lz4);
}

#[test]
fn librdkafka_zstd_batches_decode() {
    check_records(&fixture("zstd.bin"), Compression::Zstd);
}

/// The Java client frames snappy the xerial way. No client here emits it, so the
/// fixture is built by hand from the uncompressed capture, per the xerial format
/// (magic 0x82 "SNAPPY" 0, version 1, compatible 1, then [i32 length][raw block]
/// chunks), independently of the crate's own encoder.
#[test]
fn java_style_xerial_snappy_batches_decode() {
    let plain = fixture("none.bin");
    let h = BatchHeader::parse(&plain).unwrap();
    let records = &h.bytes()[61..];
    let mut framed = vec![0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
    framed.extend_from_slice(&1i32.to_be_bytes());
    framed.extend_from_slice(&1i32.to_be_bytes());
    let mid = records.len() / 2;
    for chunk in [&records[..mid], &records[mid..]] {
        let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
        framed.extend_from_slice(&(block.len() as i32).to_be_bytes());
        framed.extend_from_slice(&block);
    }
    let mut batch = h.bytes()[..61].to_vec();
    batch.extend_from_slice(&framed);
    let len = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    let attrs = (i16::from_be_bytes([batch[21], batch[22]]) & !7) | Compression::Snappy as i16;
    batch[21..23].copy_from_slice(&attrs.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    check_records(&batch, Compression::Snappy);
}

#[test]
fn client_batches_round_trip_through_the_log_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let log = store
        .open_log(&TopicPartition::new("fx", 0), LogConfig::default())
        .unwrap();
    let mut originals = Vec::new();
    for name in ["none.bin", "gzip.bin", "snappy.bin", "lz4.bin", "zstd.bin"] {
        let bytes = fixture(name);
        let info = log.append(&bytes, AppendOptions::default()).unwrap();
        assert_eq!(info.record_count, 50);
        originals.push((info.base_offset, bytes));
    }
    for (base, original) in originals {
        let r = log.read(base, 1, None).unwrap();
        let got = BatchHeader::parse(&r.records).unwrap();
        assert_eq!(got.base_offset(), base);
        assert_eq!(
            &got.bytes()[8..],
            &original[8..original.len()],
            "only the base offset changes"
        );
        got.validate_crc().unwrap();
    }
}

#[test]
fn a_flipped_byte_in_a_client_batch_is_a_crc_error() {
    for name in ["gzip.bin", "snappy.bin", "lz4.bin", "zstd.bin"] {
        let mut bytes = fixture(name);
        let mid = bytes.len() / 2 + 10;
        bytes[mid] ^= 0x01;
        assert!(
            matches!(
                validate_record_set(&bytes),
                Err(weir_storage::BatchError::CrcMismatch { .. })
            ),
            "{name}"
        );
    }
}
