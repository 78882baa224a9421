//! weir-bench: a Kafka-protocol load generator (`weir bench ...`).
//!
//! Not yet implemented; see issue 7.

/// Entry point for `weir bench ARGS...`; returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    let _ = args;
    eprintln!("weir bench: not implemented yet");
    2
}
