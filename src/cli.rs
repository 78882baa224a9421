//! Command-line parsing for `weir serve` (and bare `weir`), producing a
//! [`crate::BrokerConfig`], with `clap`. `weir bench ...` and the admin
//! commands are routed in `main.rs`.
//!
//! Every flag but `--set` and `--config` sets a broker settings key, so the
//! same value can come from a config file or a `WEIR_` variable, with the
//! usual precedence (CLI > env > file > default): the flags are one table,
//! [`KEY_FLAGS`]. **Adding a flag is one row there** (and its key in
//! `config/broker.rs`): `KeyFlag::value("http-read-only", "weir.http.read.only", ...)`
//! or `KeyFlag::switch(...)` for a flag without a value (it sets `true`).

use crate::config::{self, ConfigError, Settings, Source};
use crate::server::BrokerConfig;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
use std::path::PathBuf;

/// A bad command line or configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    /// What clap found wrong (unknown flag, missing value), as one line.
    #[error("{0}")]
    Usage(String),
    #[error("bad value '{value}' for {flag}: {reason}")]
    BadValue {
        flag: String,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Serve(Box<BrokerConfig>),
    /// `--help`: the text to print.
    Help(String),
    Version,
}

/// A `weir serve` flag that sets a settings key.
#[derive(Debug, Clone, Copy)]
pub struct KeyFlag {
    /// The long flag, without `--`.
    pub flag: &'static str,
    pub key: &'static str,
    /// The value's name in the help (`HOST:PORT`); `None` for a switch.
    pub value_name: Option<&'static str>,
    pub help: &'static str,
}

impl KeyFlag {
    pub const fn value(
        flag: &'static str,
        key: &'static str,
        value_name: &'static str,
        help: &'static str,
    ) -> KeyFlag {
        KeyFlag {
            flag,
            key,
            value_name: Some(value_name),
            help,
        }
    }

    pub const fn switch(flag: &'static str, key: &'static str, help: &'static str) -> KeyFlag {
        KeyFlag {
            flag,
            key,
            value_name: None,
            help,
        }
    }

    fn arg(&self) -> Arg {
        let env = config::env_name(self.key);
        let help = format!("{} [key: {}, env: {env}]", self.help, self.key);
        let arg = Arg::new(self.flag).long(self.flag).help(help);
        match self.value_name {
            Some(v) => arg.value_name(v).action(ArgAction::Set),
            None => arg.action(ArgAction::SetTrue),
        }
    }
}

/// Every flag of `weir serve` that sets a key, in help order.
pub const KEY_FLAGS: &[KeyFlag] = &[
    KeyFlag::value(
        "listen",
        "weir.listen",
        "HOST:PORT",
        "One PLAINTEXT listener (default 127.0.0.1:9092); or Kafka's `listeners`",
    ),
    KeyFlag::value(
        "advertise",
        "weir.advertise",
        "HOST:PORT",
        "The address clients are told to connect to (default: the listen address)",
    ),
    KeyFlag::value(
        "data-dir",
        "weir.data.dir",
        "DIR",
        "Where the logs live (default ./weir-data)",
    ),
    KeyFlag::value(
        "http",
        "weir.http",
        "HOST:PORT",
        "Serve /metrics, /health, /ready, /api/ and the web console here",
    ),
    KeyFlag::switch(
        "http-read-only",
        "weir.http.read.only",
        "The web console and JSON API only read: every action is refused (403) and hidden",
    ),
    KeyFlag::switch(
        "dev-tls",
        "weir.dev.tls",
        "A throwaway CA and broker certificate in the data dir; the listener speaks TLS",
    ),
    KeyFlag::value(
        "log-level",
        "weir.log.level",
        "LEVEL",
        "A level or RUST_LOG-style directives (default info)",
    ),
    KeyFlag::value(
        "log-format",
        "weir.log.format",
        "text|json",
        "Log lines as text or JSON objects",
    ),
];

/// The options of `weir serve` that are not settings keys.
#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about = "A Kafka-protocol-compatible log broker",
    override_usage = "weir [serve] [OPTIONS]\n       weir bench ...\n       weir topic|group|produce|consume|cluster ... (admin commands; --help on each)",
    after_help = "Every broker setting takes Kafka's property name: --set KEY=VALUE, a line of the \
--config file, or a WEIR_ variable (upper case, `_` for `.`, `__` for `_`, `___` for `-`: \
WEIR_LOG_RETENTION_MS). Precedence: command line > environment > file > default."
)]
struct ServeCli {
    /// A broker setting by Kafka's property name (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Settings from a file: Java properties, or TOML when it ends in .toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The clap command: the derived options plus [`KEY_FLAGS`].
fn serve_command() -> clap::Command {
    ServeCli::command().args(KEY_FLAGS.iter().map(KeyFlag::arg))
}

/// `KEY=VALUE` pairs given on the command line: every `--set`, then every
/// key flag (a flag wins over a `--set` of its key).
fn command_line_pairs(m: &ArgMatches, cli: &ServeCli) -> Result<Vec<(String, String)>, CliError> {
    let mut out = Vec::new();
    for kv in &cli.sets {
        let (k, v) = kv.split_once('=').ok_or_else(|| CliError::BadValue {
            flag: "--set".into(),
            value: kv.clone(),
            reason: "expected KEY=VALUE".into(),
        })?;
        out.push((k.trim().to_string(), v.to_string()));
    }
    for f in KEY_FLAGS {
        match f.value_name {
            Some(_) => {
                if let Some(v) = m.get_one::<String>(f.flag) {
                    out.push((f.key.to_string(), v.clone()));
                }
            }
            None => {
                if m.get_flag(f.flag) {
                    out.push((f.key.to_string(), "true".into()));
                }
            }
        }
    }
    Ok(out)
}

/// The flag that sets `key`, for messages (`--listen (weir.listen)`).
fn flag_of(key: &str) -> String {
    match KEY_FLAGS.iter().find(|f| f.key == key) {
        Some(f) => format!("--{} ({key})", f.flag),
        None => key.to_string(),
    }
}

/// Check `HOST:PORT` (host may be a name, IPv4, or `[IPv6]`).
fn host_port(key: &str, value: &str) -> Result<String, CliError> {
    let bad = |reason: &str| CliError::BadValue {
        flag: flag_of(key),
        value: value.into(),
        reason: reason.into(),
    };
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| bad("expected HOST:PORT"))?;
    if host.is_empty() {
        return Err(bad("missing host"));
    }
    port.parse::<u16>()
        .map_err(|_| bad("port must be 0-65535"))?;
    Ok(value.to_string())
}

/// A `HOST:PORT` setting; `None` when empty (not set).
fn optional_host_port(settings: &Settings, key: &str) -> Result<Option<String>, CliError> {
    match settings.str(key).trim() {
        "" => Ok(None),
        v => host_port(key, v).map(Some),
    }
}

/// clap's message as one line: its first, without the `error: ` prefix.
fn one_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// Parse a whole command line (without the program name) into a command, merging
/// the config file and the given environment into the broker settings.
pub fn parse_command(
    args: &[String],
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Command, CliError> {
    let rest = match args.first().map(String::as_str) {
        Some("serve") => &args[1..],
        Some("help") => return Ok(Command::Help(serve_command().render_help().to_string())),
        Some("version") => return Ok(Command::Version),
        _ => args,
    };
    let matches = match serve_command()
        .try_get_matches_from(std::iter::once("weir").chain(rest.iter().map(String::as_str)))
    {
        Ok(m) => m,
        Err(e) => {
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp => Ok(Command::Help(e.to_string())),
                clap::error::ErrorKind::DisplayVersion => Ok(Command::Version),
                _ => Err(CliError::Usage(one_line(&e))),
            }
        }
    };
    let cli = ServeCli::from_arg_matches(&matches).map_err(|e| CliError::Usage(one_line(&e)))?;
    let pairs = command_line_pairs(&matches, &cli)?;
    let settings = config::load_settings(cli.config.as_deref(), env, &pairs)?;
    let listen = host_port("weir.listen", settings.str("weir.listen").trim())?;
    let advertise = optional_host_port(&settings, "weir.advertise")?;
    let http = optional_host_port(&settings, "weir.http")?;
    let data_dir = settings.str("weir.data.dir").to_string();
    if data_dir.trim().is_empty() {
        return Err(CliError::BadValue {
            flag: flag_of("weir.data.dir"),
            value: data_dir,
            reason: "must not be empty".into(),
        });
    }
    let listen_given = settings.source("weir.listen") != Source::Default
        || settings.source("weir.advertise") != Source::Default;
    if listen_given && !settings.str("listeners").trim().is_empty() {
        return Err(CliError::BadValue {
            flag: "--listen".into(),
            value: listen,
            reason: "--listen/--advertise and the listeners setting cannot both be given".into(),
        });
    }
    Ok(Command::Serve(Box::new(BrokerConfig {
        listen,
        advertise,
        data_dir: PathBuf::from(data_dir),
        http,
        settings,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    fn serve(a: &[&str], env: &[(&str, &str)]) -> Result<BrokerConfig, CliError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse_command(&args(a), env)? {
            Command::Serve(c) => Ok(*c),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bare_weir_uses_defaults() {
        let cfg = serve(&[], &[]).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9092");
        assert_eq!(cfg.data_dir, PathBuf::from("./weir-data"));
        assert_eq!(cfg.advertise, None);
        assert_eq!(cfg.http, None);
    }

    #[test]
    fn serve_flags_both_forms() {
        let a = serve(
            &[
                "serve",
                "--listen",
                "0.0.0.0:1234",
                "--data-dir=/tmp/x",
                "--advertise",
                "kafka.local:1234",
                "--http=127.0.0.1:8080",
                "--set",
                "num.partitions=3",
                "--set=log.retention.ms=10",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(a.listen, "0.0.0.0:1234");
        assert_eq!(a.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(a.advertise.as_deref(), Some("kafka.local:1234"));
        assert_eq!(a.http.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(a.settings.i64("num.partitions"), 3);
        assert_eq!(a.settings.i64("log.retention.ms"), 10);
        assert_eq!(a.settings.str("weir.data.dir"), "/tmp/x");
        assert_eq!(a.settings.source("weir.listen"), Source::Cli);
    }

    #[test]
    fn every_flag_is_a_key_that_the_environment_can_set_below_the_command_line() {
        let env = [
            ("WEIR_WEIR_LISTEN", "127.0.0.1:7000"),
            ("WEIR_WEIR_DATA_DIR", "/srv/weir"),
            ("WEIR_WEIR_HTTP", "127.0.0.1:7001"),
            ("WEIR_WEIR_LOG_FORMAT", "json"),
        ];
        let cfg = serve(&[], &env).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:7000");
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/weir"));
        assert_eq!(cfg.http.as_deref(), Some("127.0.0.1:7001"));
        assert_eq!(cfg.settings.source("weir.listen"), Source::Env);
        let cfg = serve(&["--listen", "127.0.0.1:7002"], &env).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:7002");
        for f in KEY_FLAGS {
            assert!(
                crate::config::broker::Settings::default()
                    .iter()
                    .any(|s| s.def.name == f.key),
                "--{} sets {}, which is no settings key",
                f.flag,
                f.key
            );
        }
        let help = serve_command().render_help().to_string();
        assert!(help.contains("--data-dir <DIR>"), "{help}");
        assert!(help.contains("env: WEIR_WEIR_DATA_DIR"), "{help}");
    }

    #[test]
    fn dev_tls_flag_sets_its_key() {
        let cfg = serve(&["serve", "--dev-tls"], &[]).unwrap();
        assert!(cfg.settings.bool("weir.dev.tls"));
        let cfg = serve(&[], &[]).unwrap();
        assert!(!cfg.settings.bool("weir.dev.tls"));
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(
            parse_command(&args(&["--help"]), Vec::new()),
            Ok(Command::Help(h)) if h.contains("--listen <HOST:PORT>") && h.contains("--set <KEY=VALUE>")
        ));
        assert!(matches!(
            parse_command(&args(&["serve", "-h"]), Vec::new()),
            Ok(Command::Help(_))
        ));
        assert!(matches!(
            parse_command(&args(&["-V"]), Vec::new()),
            Ok(Command::Version)
        ));
    }

    fn usage_error(a: &[&str]) -> String {
        match parse_command(&args(a), Vec::new()) {
            Err(e @ CliError::Usage(_)) => e.to_string(),
            other => panic!("{a:?}: {other:?}"),
        }
    }

    #[test]
    fn bad_command_lines_are_errors() {
        let e = usage_error(&["--bogus"]);
        assert!(e.contains("'--bogus'") && !e.contains('\n'), "{e}");
        let e = usage_error(&["--listen"]);
        assert!(e.contains("--listen") && !e.contains('\n'), "{e}");
        assert!(matches!(
            serve(&["--listen", "nope"], &[]),
            Err(CliError::BadValue { flag, .. }) if flag == "--listen (weir.listen)"
        ));
        assert!(matches!(
            serve(&[], &[("WEIR_WEIR_HTTP", "nope")]),
            Err(CliError::BadValue { flag, .. }) if flag == "--http (weir.http)"
        ));
        assert!(matches!(
            serve(&["--data-dir", ""], &[]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            serve(&["--set", "novalue"], &[]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            serve(&["serve", "--set", "bogus.key=1"], &[]),
            Err(CliError::Config(ConfigError::UnknownKey { .. }))
        ));
        assert!(matches!(
            serve(
                &[
                    "--listen",
                    "127.0.0.1:1",
                    "--set",
                    "listeners=PLAINTEXT://127.0.0.1:2"
                ],
                &[]
            ),
            Err(CliError::BadValue { .. })
        ));
    }
}
