//! Replays every committed fuzz input (`fuzz/corpus/<target>/*`, the seeds and
//! what the fuzzer kept, and `fuzz/regressions/<target>/*`, the crash inputs
//! found and fixed) through the same entry functions the fuzz targets call
//! (`weir::fuzzing`), so CI re-runs them without a fuzzer build. A panic is a
//! failure.
//!
//! `cargo test --test fuzz_corpus -- --ignored write_seeds` rewrites the seed
//! files (`seed-*`) of every corpus.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::StrBytes;
use std::path::{Path, PathBuf};
use weir::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn committed_corpora_and_regressions_replay_without_panics() {
    for (name, target) in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "no committed corpus for fuzz target {name}"
        );
        for path in corpus
            .iter()
            .chain(files(&fuzz_dir().join("regressions").join(name)).iter())
        {
            let data = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(
                outcome.is_ok(),
                "fuzz target {name} panics on {}",
                path.display()
            );
        }
    }
}

/// Every fuzz target in `fuzz/Cargo.toml` has an entry function and vice versa.
#[test]
fn every_target_has_an_entry_function() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "weir-fuzz")
        .collect();
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(bins, names);
}

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
}

/// A valid request of `key` at `version`: the default body kafka-protocol
/// decodes from zero bytes (or from 1s, for compact encodings), re-encoded.
fn request_seed(key: ApiKey, version: i16) -> Option<Vec<u8>> {
    let body = [0u8; 256];
    let ones = [1u8; 256];
    let decoded = [&body[..], &ones[..]].iter().find_map(|b| {
        let mut b = Bytes::copy_from_slice(b);
        RequestKind::decode(key, &mut b, version).ok()
    })?;
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("seed")));
    weir::codec::encode_request(&header, &decoded, version)
        .ok()
        .map(|b| b.to_vec())
}

fn batch(compression: weir_storage::Compression) -> Vec<u8> {
    let mut b = weir_storage::BatchBuilder::new();
    b.compression = compression;
    for i in 0..3 {
        b.push(weir_storage::Record {
            offset: i,
            timestamp: 1_700_000_000_000 + i,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("value {i} value {i} value {i}"))),
            headers: Vec::new(),
        });
    }
    b.build().unwrap()
}

#[test]
#[ignore = "rewrites the committed seeds"]
fn write_seeds() {
    use weir_storage::Compression::*;
    // request and frame: every api key at its lowest and highest version.
    let mut frames = Vec::new();
    for key in ApiKey::iter() {
        let v = key.valid_versions();
        for version in [v.min, v.max] {
            if let Some(req) = request_seed(key, version) {
                write("request", &format!("{key:?}-v{version}"), &req);
                if version == v.max && frames.len() < 4096 {
                    frames.extend_from_slice(&(req.len() as i32).to_be_bytes());
                    frames.extend_from_slice(&req);
                }
            }
        }
    }
    write("frame", "many", &frames);
    // record_batch: one batch per codec, under varied rules; one legacy set.
    for (i, c) in [None, Gzip, Snappy, Lz4, Zstd].into_iter().enumerate() {
        let mut data = vec![(i as u8) | 32];
        data.extend(batch(c));
        write("record_batch", &format!("{c:?}"), &data);
    }
    let legacy = weir_storage::legacy::encode_message_set(
        1,
        Gzip,
        &[(1_700_000_000_000, Some(b"k"), Some(b"v"))],
    )
    .unwrap();
    write(
        "record_batch",
        "legacy-v1-gzip",
        &[&[0u8][..], &legacy].concat(),
    );
    // segment: a real segment written by the store.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = weir_storage::Store::open(dir.path()).unwrap();
        let tp = weir_storage::TopicPartition {
            topic: "t".into(),
            partition: 0,
        };
        let log = store
            .open_log(
                &tp,
                weir_storage::LogConfig {
                    index_interval_bytes: 1,
                    ..Default::default()
                },
            )
            .unwrap();
        for c in [None, Gzip, Zstd] {
            log.append(&batch(c), Default::default()).unwrap();
        }
        log.flush().unwrap();
        store.close().unwrap();
    }
    let part = dir.path().join("t-0");
    let read = |ext: &str| std::fs::read(part.join(format!("00000000000000000000.{ext}"))).unwrap();
    let (log, index, time) = (read("log"), read("index"), read("timeindex"));
    let index = &index[..index.len().min(48)];
    let time = &time[..time.len().min(48)];
    let mut seg = Vec::new();
    seg.extend((index.len() as u16).to_be_bytes());
    seg.extend((time.len() as u16).to_be_bytes());
    seg.extend(index);
    seg.extend(time);
    seg.extend(&log);
    write("segment", "three-batches", &seg);
    // state_files: the encoders' output, by selector.
    let acl = weir::acl::checkpoint::encode(std::iter::empty());
    write("state_files", "acl-empty", &[&[2u8][..], &acl].concat());
    let configs = weir::config::dynamic::DynamicConfigs::default().encode();
    write(
        "state_files",
        "dynamic-empty",
        &[&[4u8][..], &configs].concat(),
    );
    let table = weir::producer_state::ProducerStateTable::default().encode();
    write(
        "state_files",
        "producer-table-empty",
        &[&[1u8][..], &table].concat(),
    );
    let key = weir::txn::records::encode_key("tx");
    write("state_files", "txn-key", &[&[6u8][..], &key].concat());
    write("state_files", "topics", b"\0topics v1\ncrc32 00000000\n");
    // config: a properties file and a TOML file.
    write(
        "config",
        "properties",
        b"\0# broker\nnode.id=1\nlog.dirs=/tmp/x\nlisteners=PLAINTEXT://:9092\nretention.ms=1000\ncleanup.policy=compact,delete\nmax.message.bytes=1048576\n",
    );
    write(
        "config",
        "toml",
        b"\x01node.id = 1\nlog.retention.hours = 24\n[log]\nsegment.bytes = 1073741824\n",
    );
}
