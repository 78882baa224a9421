//! Command-line parsing for `weir serve` (and bare `weir`), producing a
//! [`crate::BrokerConfig`]. `weir bench ...` is routed in `main.rs`.

use crate::config::{self, ConfigError};
use crate::server::BrokerConfig;
use std::path::PathBuf;

pub const USAGE: &str =
    "usage: weir [serve] [--listen HOST:PORT] [--data-dir DIR] [--advertise HOST:PORT] \
[--http HOST:PORT] [--http-read-only] [--set KEY=VALUE]... [--config FILE] [--dev-tls]\n                   \
[--log-level LEVEL] [--log-format text|json]\n       weir bench ...\n       weir topic|group|produce|consume|cluster ... (admin commands; --help on each)";

/// A bad command line or configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("unknown argument '{0}'")]
    UnknownArg(String),
    #[error("{0} needs a value")]
    MissingValue(String),
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
    Help,
    Version,
}

/// The parsed `serve` flags, before the settings sources are merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeArgs {
    pub listen: String,
    pub data_dir: PathBuf,
    pub advertise: Option<String>,
    pub http: Option<String>,
    pub sets: Vec<(String, String)>,
    pub config: Option<PathBuf>,
    /// `--listen` or `--advertise` was given (they conflict with `listeners`).
    pub listen_given: bool,
    /// `--dev-tls` (the key `weir.dev.tls`).
    pub dev_tls: bool,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: "127.0.0.1:9092".into(),
            data_dir: PathBuf::from("./weir-data"),
            advertise: None,
            http: None,
            sets: Vec::new(),
            config: None,
            listen_given: false,
            dev_tls: false,
        }
    }
}

/// Check `HOST:PORT` (host may be a name, IPv4, or `[IPv6]`).
fn host_port(flag: &str, value: &str) -> Result<String, CliError> {
    let bad = |reason: &str| CliError::BadValue {
        flag: flag.into(),
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

/// Parse the arguments after the program name (and after `serve`, if given).
pub fn parse_serve_args(args: &[String]) -> Result<ServeArgs, CliError> {
    let mut out = ServeArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "--dev-tls" && inline.is_none() {
            out.dev_tls = true;
            i += 1;
            continue;
        }
        if flag == "--http-read-only" && inline.is_none() {
            out.sets.push(("weir.http.read.only".into(), "true".into()));
            i += 1;
            continue;
        }
        let takes_value = matches!(
            flag.as_str(),
            "--listen"
                | "--data-dir"
                | "--advertise"
                | "--http"
                | "--set"
                | "--config"
                | "--log-level"
                | "--log-format"
        );
        if !takes_value {
            return Err(CliError::UnknownArg(arg.clone()));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| CliError::MissingValue(flag.clone()))?
            }
        };
        match flag.as_str() {
            "--listen" => {
                out.listen = host_port(&flag, &value)?;
                out.listen_given = true;
            }
            "--advertise" => {
                out.advertise = Some(host_port(&flag, &value)?);
                out.listen_given = true;
            }
            "--http" => out.http = Some(host_port(&flag, &value)?),
            "--data-dir" => {
                if value.is_empty() {
                    return Err(CliError::MissingValue(flag));
                }
                out.data_dir = PathBuf::from(value)
            }
            "--config" => out.config = Some(PathBuf::from(value)),
            // Settings keys of their own (`weir.log.*`): checked with the others.
            "--log-level" => out.sets.push(("weir.log.level".into(), value)),
            "--log-format" => out.sets.push(("weir.log.format".into(), value)),
            "--set" => {
                let (k, v) = value.split_once('=').ok_or_else(|| CliError::BadValue {
                    flag: flag.clone(),
                    value: value.clone(),
                    reason: "expected KEY=VALUE".into(),
                })?;
                out.sets.push((k.trim().to_string(), v.to_string()));
            }
            _ => unreachable!("checked above"),
        }
        i += 1;
    }
    Ok(out)
}

/// Parse a whole command line (without the program name) into a command, merging
/// the config file and the given environment into the broker settings.
pub fn parse_command(
    args: &[String],
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Command, CliError> {
    let rest = match args.first().map(String::as_str) {
        Some("serve") => &args[1..],
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("-V" | "--version" | "version") => return Ok(Command::Version),
        _ => args,
    };
    if rest.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Command::Help);
    }
    let serve = parse_serve_args(rest)?;
    let mut sets = serve.sets.clone();
    if serve.dev_tls {
        sets.push(("weir.dev.tls".into(), "true".into()));
    }
    let settings = config::load_settings(serve.config.as_deref(), env, &sets)?;
    if serve.listen_given && !settings.str("listeners").trim().is_empty() {
        return Err(CliError::BadValue {
            flag: "--listen".into(),
            value: serve.listen.clone(),
            reason: "--listen/--advertise and the listeners setting cannot both be given".into(),
        });
    }
    Ok(Command::Serve(Box::new(BrokerConfig {
        listen: serve.listen,
        advertise: serve.advertise,
        data_dir: serve.data_dir,
        http: serve.http,
        settings,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn bare_weir_uses_defaults() {
        let Command::Serve(cfg) = parse_command(&[], Vec::new()).unwrap() else {
            panic!()
        };
        assert_eq!(cfg.listen, "127.0.0.1:9092");
        assert_eq!(cfg.data_dir, PathBuf::from("./weir-data"));
        assert_eq!(cfg.advertise, None);
    }

    #[test]
    fn serve_flags_both_forms() {
        let a = parse_serve_args(&args(&[
            "--listen",
            "0.0.0.0:1234",
            "--data-dir=/tmp/x",
            "--advertise",
            "kafka.local:1234",
            "--set",
            "num.partitions=3",
            "--set=log.retention.ms=10",
        ]))
        .unwrap();
        assert_eq!(a.listen, "0.0.0.0:1234");
        assert_eq!(a.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(a.advertise.as_deref(), Some("kafka.local:1234"));
        assert_eq!(
            a.sets,
            vec![
                ("num.partitions".into(), "3".into()),
                ("log.retention.ms".into(), "10".into())
            ]
        );
    }

    #[test]
    fn dev_tls_flag_sets_its_key() {
        let Command::Serve(cfg) =
            parse_command(&args(&["serve", "--dev-tls"]), Vec::new()).unwrap()
        else {
            panic!()
        };
        assert!(cfg.settings.bool("weir.dev.tls"));
        let Command::Serve(cfg) = parse_command(&[], Vec::new()).unwrap() else {
            panic!()
        };
        assert!(!cfg.settings.bool("weir.dev.tls"));
    }

    #[test]
    fn bad_command_lines_are_errors() {
        assert_eq!(
            parse_serve_args(&args(&["--bogus"])),
            Err(CliError::UnknownArg("--bogus".into()))
        );
        assert_eq!(
            parse_serve_args(&args(&["--listen"])),
            Err(CliError::MissingValue("--listen".into()))
        );
        assert!(matches!(
            parse_serve_args(&args(&["--listen", "nope"])),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            parse_serve_args(&args(&["--set", "novalue"])),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            parse_command(&args(&["serve", "--set", "bogus.key=1"]), Vec::new()),
            Err(CliError::Config(ConfigError::UnknownKey { .. }))
        ));
        assert!(matches!(
            parse_command(
                &args(&[
                    "--listen",
                    "127.0.0.1:1",
                    "--set",
                    "listeners=PLAINTEXT://127.0.0.1:2"
                ]),
                Vec::new()
            ),
            Err(CliError::BadValue { .. })
        ));
    }
}
