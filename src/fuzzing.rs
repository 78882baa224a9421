//! Entry points of the fuzz targets (`fuzz/`, one per function) and of their
//! replay in `cargo test` (`tests/fuzz_corpus.rs`): each takes arbitrary bytes,
//! runs them through the same code the broker runs on untrusted input, and must
//! return without panicking, aborting or allocating without bound. Errors are
//! the expected outcome; only a panic is a finding.
//!
//! Nothing in the broker calls this module (it sits above everything else).

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestKind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use weir_storage::compression::Compression;
use weir_storage::validate::{ProduceRules, TimestampBounds};
use weir_storage::{LogConfig, Store, TopicPartition};

use crate::codec::{self, legacy};
use crate::dispatch;

/// A fuzz target's entry function.
pub type Target = fn(&[u8]);

/// The targets by name (the file names under `fuzz/corpus/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("frame", frame),
    ("request", request),
    ("record_batch", record_batch),
    ("segment", segment),
    ("state_files", state_files),
    ("config", config),
];

/// A connection's bytes: length-prefixed frames (as `FrameReader` cuts them,
/// with a 1 MiB limit), each read as a request header the way the session
/// does (peek, api key, supported version, header decode).
pub fn frame(data: &[u8]) {
    // Read from a slice, without the idle timer or the memory pool, the reader
    // never waits: polled once with a no-op waker, no runtime is needed (one
    // runtime per input made this target 20 times slower).
    let mut reader = crate::connection::FrameReader::new(data, 1 << 20);
    loop {
        let next = std::pin::pin!(reader.read_frame());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let std::task::Poll::Ready(read) = std::future::Future::poll(next, &mut cx) else {
            panic!("a frame reader over a slice waited");
        };
        let Ok(Some(mut frame)) = read else {
            return;
        };
        let Ok(prefix) = codec::peek_header(&frame) else {
            continue;
        };
        let Ok(key) = ApiKey::try_from(prefix.api_key) else {
            continue;
        };
        if dispatch::supports(key, prefix.api_version) {
            let _ = codec::decode_header(&mut frame, key, prefix.api_version);
        }
    }
}

/// One request frame (without its size prefix): header, then the body by api
/// key and version through the broker's codec (legacy versions through
/// `codec::legacy`). Every version kafka-protocol or the legacy codec knows is
/// tried, not only those the broker serves, since both are reachable.
pub fn request(data: &[u8]) {
    let mut frame = Bytes::copy_from_slice(data);
    let Ok(prefix) = codec::peek_header(&frame) else {
        return;
    };
    let Ok(key) = ApiKey::try_from(prefix.api_key) else {
        return;
    };
    let version = prefix.api_version;
    let known = (key.valid_versions().min..=key.valid_versions().max).contains(&version);
    if !known && !legacy::is_legacy(key, version) {
        return;
    }
    if dispatch::supports(key, version) {
        // As the broker: header first (its version follows the api's).
        if codec::decode_header(&mut frame, key, version).is_err() {
            return;
        }
    } else {
        frame = frame.slice(8.min(frame.len())..);
    }
    if legacy::is_legacy(key, version) {
        let _ = legacy::decode_request(key, version, frame);
    } else {
        let _ = RequestKind::decode(key, &mut frame, version);
    }
}

/// A produce record set under rules chosen by the first byte (target codec,
/// compaction, timestamp type, client or internal writer, timestamp bounds),
/// then legacy up-conversion of the same bytes.
pub fn record_batch(data: &[u8]) {
    let Some((&sel, records)) = data.split_first() else {
        return;
    };
    let codecs = [
        None,
        Some(Compression::None),
        Some(Compression::Gzip),
        Some(Compression::Snappy),
        Some(Compression::Lz4),
        Some(Compression::Zstd),
    ];
    let rules = ProduceRules {
        max_batch_bytes: 1 << 20,
        target_compression: codecs[(sel & 7) as usize % codecs.len()],
        keys_required: sel & 8 != 0,
        log_append_time: sel & 16 != 0,
        client: sel & 32 == 0,
        timestamp_bounds: (sel & 64 != 0).then_some(TimestampBounds {
            now_ms: 1_700_000_000_000,
            before_max_ms: 3_600_000,
            after_max_ms: 3_600_000,
        }),
        compress_options: Default::default(),
    };
    let _ = weir_storage::validate::validate(records, &rules, "fuzz", 0);
    if weir_storage::legacy::first_magic(records).is_some_and(|m| m < 2) {
        let _ = weir_storage::legacy::up_convert(records);
    }
    let _ = weir_storage::legacy::decode_message_set(records);
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A data dir removed when its thread ends (a test thread; libFuzzer exits
/// without running thread-local destructors: `fuzz/run` gives each run its
/// own `TMPDIR` and removes it).
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

thread_local! {
    /// This thread's data dir, reused input after input (one directory per
    /// input made this target mostly mkdir and rmdir).
    static SEGMENT_DIR: ScratchDir = ScratchDir(std::env::temp_dir().join(format!(
        "weir-fuzz-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    )));
}

/// Split `data` into a segment's `.log`, `.index` and `.timeindex`: two
/// big-endian u16 lengths (index, timeindex), those files, the rest is the log.
fn split_segment(data: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (head, rest) = data.split_at_checked(4)?;
    let index_len = u16::from_be_bytes([head[0], head[1]]) as usize;
    let time_len = u16::from_be_bytes([head[2], head[3]]) as usize;
    let (index, rest) = rest.split_at_checked(index_len.min(rest.len()))?;
    let (time, log) = rest.split_at_checked(time_len.min(rest.len()))?;
    Some((log, index, time))
}

/// Segment recovery: a partition directory holding one segment made of
/// arbitrary `.log`, `.index` and `.timeindex` bytes (see [`split_segment`]),
/// opened after an unclean stop (so recovered), then read end to end and
/// searched by timestamp.
pub fn segment(data: &[u8]) {
    let Some((log, index, time)) = split_segment(data) else {
        return;
    };
    let dir = SEGMENT_DIR.with(|d| d.0.clone());
    let part = dir.join("t-0");
    let name = "00000000000000000000";
    let write = || -> std::io::Result<()> {
        // What the last input left: its partition and its clean-shutdown
        // marker (this input's stop was unclean).
        match std::fs::remove_dir_all(&part) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                std::fs::remove_file(entry.path())?;
            }
        }
        std::fs::create_dir_all(&part)?;
        std::fs::write(part.join(format!("{name}.log")), log)?;
        std::fs::write(part.join(format!("{name}.index")), index)?;
        std::fs::write(part.join(format!("{name}.timeindex")), time)
    };
    if write().is_ok() {
        if let Ok(store) = Store::open(&dir) {
            let tp = TopicPartition {
                topic: "t".into(),
                partition: 0,
            };
            if let Ok(plog) = store.open_log(&tp, LogConfig::default()) {
                let mut offset = plog.log_start_offset();
                let end = plog.log_end_offset();
                while offset < end {
                    match plog.read(offset, 1 << 16, None) {
                        Ok(r) if !r.records.is_empty() => {
                            match weir_storage::batch::iter_batches(&r.records).last() {
                                Some(Ok(b)) => offset = b.last_offset() + 1,
                                _ => break,
                            }
                        }
                        _ => break,
                    }
                }
                let _ = plog.offset_for_timestamp(0);
                let _ = plog.max_timestamp();
            }
            let _ = store.close();
        }
    }
}

/// The broker's state files by decoder, chosen by the first byte: topics
/// checkpoint, producer snapshots, one producer-state table, ACL and SCRAM
/// checkpoints, dynamic configs, group and transaction log records.
pub fn state_files(data: &[u8]) {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    match sel % 7 {
        0 => drop(crate::partitions::decode_checkpoints(data)),
        1 => drop(crate::producer_state::ProducerStateTable::decode(data)),
        2 => drop(crate::acl::checkpoint::decode(data)),
        3 => drop(crate::security::scram_store::decode(data)),
        4 => drop(crate::config::dynamic::DynamicConfigs::decode(data)),
        5 => {
            drop(crate::groups::records::RecordKey::decode(data));
            drop(crate::groups::records::OffsetValue::decode(data));
        }
        _ => {
            drop(crate::txn::records::decode_key(data));
            drop(crate::txn::records::decode_value("fuzz", data));
        }
    }
}

/// Config text: a properties file and a TOML file (the first byte picks),
/// each pair then set as a broker setting and as a topic override.
pub fn config(data: &[u8]) {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    let pairs = if sel & 1 == 0 {
        crate::config::parse_properties("fuzz.properties", &text)
    } else {
        crate::config::parse_toml("fuzz.toml", &text)
    };
    let Ok(pairs) = pairs else {
        return;
    };
    // Parsing every default value took most of the time of an input: once per thread.
    thread_local! {
        static DEFAULTS: crate::config::Settings = crate::config::Settings::default();
    }
    let mut settings = DEFAULTS.with(Clone::clone);
    let mut topic = crate::config::topic::TopicConfig::default();
    for (k, v) in &pairs {
        let _ = settings.set(k, v, crate::config::Source::File);
        let _ = topic.set(k, v);
    }
    let _ = topic.entries(&settings);
}
