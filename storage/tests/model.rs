//! Property test: random sequences of appends (tiny segments, so many rolls),
//! truncations, log-start advances and reopens (clean and unclean) behave like a
//! simple in-memory model of the log.

mod common;

use common::{batch_with, values};
use proptest::prelude::*;
use std::sync::Arc;
use weir_storage::batch::iter_batches;
use weir_storage::{AppendOptions, Compression, LogConfig, PartitionLog, Store, TopicPartition};

#[derive(Debug, Clone)]
enum Op {
    Append { records: usize, gzip: bool },
    Truncate { frac: u8 },
    AdvanceStart { frac: u8 },
    Flush,
    ReopenClean,
    ReopenUnclean,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..6, any::<bool>()).prop_map(|(records, gzip)| Op::Append { records, gzip }),
        1 => any::<u8>().prop_map(|frac| Op::Truncate { frac }),
        1 => any::<u8>().prop_map(|frac| Op::AdvanceStart { frac }),
        1 => Just(Op::Flush),
        1 => Just(Op::ReopenClean),
        1 => Just(Op::ReopenUnclean),
    ]
}

/// The model: batches as (base offset, values), the log start and end.
#[derive(Debug, Default)]
struct Model {
    batches: Vec<(i64, Vec<String>)>,
    log_start: i64,
    log_end: i64,
}

impl Model {
    fn visible(&self) -> Vec<(i64, String)> {
        self.batches
            .iter()
            .flat_map(|(base, vals)| {
                vals.iter()
                    .enumerate()
                    .map(move |(i, v)| (base + i as i64, v.clone()))
            })
            .filter(|(o, _)| *o >= self.log_start)
            .collect()
    }
}

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 500,
        index_interval_bytes: 100,
        max_index_bytes: 64,
        ..LogConfig::default()
    }
}

fn open(dir: &std::path::Path) -> (Store, Arc<PartitionLog>) {
    let s = Store::open(dir).unwrap();
    let l = s.open_log(&TopicPartition::new("m", 0), cfg()).unwrap();
    (s, l)
}

fn read_visible(log: &PartitionLog) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    let end = log.log_end_offset();
    while next < end {
        let r = log.read(next, 700, None).unwrap();
        if r.records.is_empty() {
            break; // only a gap left by truncating inside a batch
        }
        let last = iter_batches(&r.records)
            .last()
            .unwrap()
            .unwrap()
            .last_offset();
        out.extend(values(&r.records).into_iter().filter(|(o, _)| *o >= next));
        next = last + 1;
    }
    out
}

fn check(log: &PartitionLog, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(log.log_end_offset(), m.log_end);
    prop_assert_eq!(log.log_start_offset(), m.log_start);
    prop_assert_eq!(read_visible(log), m.visible());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn log_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut log) = open(dir.path());
        let mut m = Model::default();
        let mut n = 0;
        for op in ops {
            match op {
                Op::Append { records, gzip } => {
                    n += 1;
                    let tag = format!("r{n}");
                    let codec = if gzip { Compression::Gzip } else { Compression::None };
                    let info = log.append(&batch_with(records, n, &tag, codec), AppendOptions::default()).unwrap();
                    prop_assert_eq!(info.base_offset, m.log_end);
                    m.batches.push((m.log_end, (0..records).map(|i| format!("{tag}-{i}")).collect()));
                    m.log_end += records as i64;
                }
                Op::Truncate { frac } => {
                    let span = m.log_end - m.log_start;
                    let to = m.log_start + span * frac as i64 / 255;
                    log.truncate_to(to).unwrap();
                    if to < m.log_end {
                        m.batches.retain(|(base, vals)| base + vals.len() as i64 - 1 < to);
                        m.log_end = to;
                    }
                }
                Op::AdvanceStart { frac } => {
                    let span = m.log_end - m.log_start;
                    let to = m.log_start + span * frac as i64 / 255;
                    let got = log.advance_log_start_offset(to).unwrap();
                    m.log_start = m.log_start.max(to);
                    prop_assert_eq!(got, m.log_start);
                }
                Op::Flush => {
                    log.flush().unwrap();
                    prop_assert_eq!(log.recovery_point(), m.log_end);
                }
                Op::ReopenClean => {
                    store.close().unwrap();
                    drop(log);
                    drop(store);
                    (store, log) = open(dir.path());
                    prop_assert!(store.was_clean_shutdown());
                }
                Op::ReopenUnclean => {
                    drop(log);
                    drop(store);
                    (store, log) = open(dir.path());
                    prop_assert!(!store.was_clean_shutdown());
                }
            }
            check(&log, &m)?;
        }
    }
}
