//! weir-bench: a Kafka-protocol load generator (`weir bench produce|consume|e2e`) that
//! drives any Kafka-compatible broker (weir, Apache Kafka, Redpanda, Tansu) with our own
//! protocol code: kafka-protocol 0.18 for request/response encoding, record batches v2
//! encoded and read by `weir-storage`'s sans-io [`weir_storage::batch`] and
//! [`weir_storage::compression`] (the broker's own, so there is one encoder).
//!
//! # Layout
//! - [`args`]: command line (clap), defaults, named OpenMessaging-Benchmark workloads.
//! - [`wire`] (from `weir-client`): one connection: framing, correlation ids,
//!   ApiVersions, pipelining split.
//! - [`cluster`]: Metadata, CreateTopics, ListOffsets.
//! - [`keys`], [`pacing`], [`timer`]: keys and partitioning (murmur2, sticky), rate
//!   schedule, sub-millisecond sleeps.
//! - [`produce`], [`consume`]: the producer and consumer tasks.
//! - [`stats`], [`report`]: counters, HDR histograms, CPU; text/JSON/SVG/compare output.
//! - [`runner`]: orchestration of a run and of `--compare` rounds; [`interrupt`]: Ctrl-C.

pub mod args;
pub mod cluster;
pub mod consume;
pub mod interrupt;
pub mod keys;
pub mod pacing;
pub mod produce;
pub mod report;
pub mod runner;
pub mod stats;
pub mod timer;

/// The harness's errors are the shared client's (one enum for the wire and the run).
pub use weir_client::ClientError as BenchError;
pub use weir_client::{error, wire};

use std::io::Write;

/// Entry point for `weir bench ARGS...`; returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    let cfg = match args::parse(&args) {
        Ok(args::Command::Help) => {
            // A closed pipe (`weir bench --help | head`) is not an error.
            let _ = writeln!(std::io::stdout(), "{}", args::help());
            return 0;
        }
        Ok(args::Command::Run(cfg)) => *cfg,
        Err(e) => {
            eprintln!("{e}");
            return e.exit_code();
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weir bench: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(runner::main(cfg)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("weir bench: {e}");
            e.exit_code()
        }
    }
}
