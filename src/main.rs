//! The `weir` binary: `weir bench ...` goes to the load generator (the default
//! `bench` feature: the only user of `weir-bench`; the library never uses it);
//! `weir topic|group|produce|consume|cluster ...` to the admin commands (the
//! default `admin` feature, `weir-admin`); `weir plain-user` edits a PLAIN users
//! file (`weir::security::sasl::plain_file`); everything else is `weir serve`
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
    if args.first().map(String::as_str) == Some("plain-user") {
        std::process::exit(weir::security::sasl::plain_file::cli(&args[1..]));
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
        Ok(Command::Help(text)) => {
            println!("{text}");
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
    if let Err(e) = init_logging(&config.settings) {
        eprintln!("weir: {e}");
        std::process::exit(2);
    }
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

/// Log events to stderr as text lines or JSON objects (`weir.log.format`), at
/// the level or directives of `weir.log.level` (`--log-level`), or of `RUST_LOG`
/// when the level was not set otherwise (`info,weir::security=debug` works in
/// both). The readiness line is printed apart from this, verbatim.
fn init_logging(settings: &weir::config::Settings) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let directives = match std::env::var("RUST_LOG") {
        Ok(v) if settings.source("weir.log.level") == weir::config::Source::Default => v,
        _ => settings.str("weir.log.level").to_string(),
    };
    let filter = EnvFilter::try_new(directives.trim())
        .map_err(|e| format!("bad log level '{directives}': {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter);
    let _ = match settings.str("weir.log.format") {
        "text" => builder.try_init(),
        "json" => builder.json().flatten_event(true).try_init(),
        other => return Err(format!("bad log format '{other}': expected text or json")),
    };
    Ok(())
}
