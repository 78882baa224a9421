//! The `weir` binary: `weir bench ...` goes to the load generator (the default
//! `bench` feature: the only user of `weir-bench`; the library never uses it);
//! `weir topic|group|produce|consume|cluster ...` to the admin commands (the
//! default `admin` feature, `weir-admin`); everything else is `weir serve`
//! (bare `weir` = serve with defaults).
use weir::cli::{self, Command};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        #[cfg(feature = "bench")]
        std::process::exit(weir_bench::run(args[1..].to_vec()));
        #[cfg(not(feature = "bench"))]
        {
            eprintln!("weir: `weir bench` needs the `bench` feature (on by default)");
            std::process::exit(2);
        }
    }
    #[cfg(feature = "admin")]
    if args
        .first()
        .is_some_and(|a| weir_admin::COMMANDS.contains(&a.as_str()))
    {
        std::process::exit(weir_admin::run(args));
    }
    let config = match cli::parse_command(&args, std::env::vars()) {
        Ok(Command::Serve(config)) => config,
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            return;
        }
        Ok(Command::Version) => {
            println!("weir {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Err(e) => {
            eprintln!("weir: {e}");
            std::process::exit(2);
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weir: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(weir::server::run_until_signal(*config)) {
        eprintln!("weir: {e}");
        std::process::exit(1);
    }
}

/// Log events to stderr: level INFO, or the level named by `RUST_LOG`
/// (`error`, `warn`, `info`, `debug`, `trace`). Flags and formats belong to the
/// operations work; the readiness line is printed apart from this, verbatim.
fn init_logging() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}
