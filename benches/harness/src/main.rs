//! Standalone `weir-bench` binary (same as `weir bench`), for measuring without building
//! the broker.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(weir_bench::run(args));
}
