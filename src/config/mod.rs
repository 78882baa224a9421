//! Configuration: broker settings ([`broker`]), the typed topic-config model
//! ([`topic`]), and the loaders for the config file (Java properties or TOML) and
//! `WEIR_` environment variables.

pub mod broker;
pub mod dynamic;
pub mod group;
pub mod kafka_broker_keys;
pub mod kafka_topic_keys;
pub mod kafka_value;
pub mod topic;

pub use broker::{Settings, Source};

use std::path::Path;

/// A bad configuration: reported as one line at start-up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("unknown setting '{key}' (from {from:?})")]
    UnknownKey { key: String, from: Source },
    #[error("bad value '{value}' for '{key}': {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("config file {path} line {line}: {reason}")]
    Syntax {
        path: String,
        line: usize,
        reason: String,
    },
}

/// Environment variables with the `WEIR_` prefix that are not broker settings
/// (used by tooling around the binary); they are ignored rather than rejected, as
/// are the prefixes `WEIR_TEST_`, `WEIR_BENCH_` and `WEIR_CHILD_`.
pub const NON_SETTING_ENV: &[&str] = &[
    "WEIR_BIN",
    "WEIR_LOG",
    "WEIR_DATA_DIR",
    "WEIR_ADDR",
    "WEIR_BOOTSTRAP",
];

/// `WEIR_LOG_RETENTION_MS` -> `log.retention.ms`; `None` for variables without the prefix.
pub fn env_key(var: &str) -> Option<String> {
    let rest = var.strip_prefix("WEIR_")?;
    if rest.is_empty()
        || NON_SETTING_ENV.contains(&var)
        || var.starts_with("WEIR_TEST_")
        || var.starts_with("WEIR_CHILD_")
        || var.starts_with("WEIR_BENCH_")
    {
        return None;
    }
    Some(key_from_env(rest))
}

/// Kafka's container-image rule for environment names: `_` is `.`, `__` is
/// `_`, `___` is `-` (`LISTENER_NAME_SASL__SSL_...` ->
/// `listener.name.sasl_ssl...`).
fn key_from_env(rest: &str) -> String {
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        let mut run = 1;
        while run < 3 && chars.peek() == Some(&'_') {
            chars.next();
            run += 1;
        }
        out.push(match run {
            1 => '.',
            2 => '_',
            _ => '-',
        });
    }
    out
}

/// The environment variable that sets `key` (the inverse of [`env_key`]):
/// `log.retention.ms` -> `WEIR_LOG_RETENTION_MS`, `_` -> `__`, `-` -> `___`.
pub fn env_name(key: &str) -> String {
    let mut out = String::from("WEIR_");
    for c in key.chars() {
        match c {
            '.' => out.push('_'),
            '_' => out.push_str("__"),
            '-' => out.push_str("___"),
            c => out.push(c.to_ascii_uppercase()),
        }
    }
    out
}

/// Build the settings from all sources: defaults, then `file`, then the `env`
/// variables, then the CLI `--set` pairs (precedence CLI > env > file > default).
pub fn load_settings(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    cli: &[(String, String)],
) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    if let Some(path) = file {
        for (key, value) in read_config_file(path)? {
            settings.set(&key, &value, Source::File)?;
        }
    }
    for (var, value) in env {
        if let Some(key) = env_key(&var) {
            settings.set(&key, &value, Source::Env)?;
        }
    }
    for (key, value) in cli {
        settings.set(key, value, Source::Cli)?;
    }
    Ok(settings)
}

/// Read a config file: TOML when the name ends in `.toml`, Java properties otherwise.
pub fn read_config_file(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let name = path.display().to_string();
    if path.extension().is_some_and(|e| e == "toml") {
        parse_toml(&name, &text)
    } else {
        parse_properties(&name, &text)
    }
}

/// Java properties as `java.util.Properties.load` reads them (the `java-properties`
/// crate): `key=value`, `key: value` or `key value`; `#`/`!` comments; a trailing
/// backslash continues a line; `\\uXXXX` and the other escapes. Files are read as UTF-8
/// (Kafka's `Utils.loadProps` reads ISO-8859-1, which turns a UTF-8 `ä` into two
/// characters; ASCII files and `\\u` escapes read the same either way). Values are
/// trimmed, as Kafka's `ConfigDef` trims every value it parses.
pub fn parse_properties(path: &str, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    let lines =
        java_properties::PropertiesIter::new_with_encoding(text.as_bytes(), encoding_rs::UTF_8);
    for line in lines {
        let line = line.map_err(|e| ConfigError::Syntax {
            path: path.into(),
            line: e.line_number().unwrap_or(0),
            reason: e.to_string(),
        })?;
        let number = line.line_number();
        if let java_properties::LineContent::KVPair(key, value) = line.consume_content() {
            if key.is_empty() {
                return Err(ConfigError::Syntax {
                    path: path.into(),
                    line: number,
                    reason: "missing key".into(),
                });
            }
            out.push((key, value.trim().to_string()));
        }
    }
    Ok(out)
}

/// A TOML settings file (parsed by the `toml` crate): tables and dotted keys are
/// joined with '.', so `log.retention.ms = 5`, `"log.retention.ms" = 5` and
/// `[log.retention]\nms = 5` all name `log.retention.ms`; strings, integers,
/// floats, booleans and dates are values. Arrays are refused (Kafka's list
/// settings are comma-separated strings: `listeners = "PLAINTEXT://:9092,SSL://:9093"`).
pub fn parse_toml(path: &str, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].lines().count().max(1)
        });
        ConfigError::Syntax {
            path: path.into(),
            line,
            reason: e.message().trim().to_string(),
        }
    })?;
    let mut out = Vec::new();
    flatten_toml(path, "", &table, &mut out)?;
    Ok(out)
}

fn flatten_toml(
    path: &str,
    prefix: &str,
    table: &toml::Table,
    out: &mut Vec<(String, String)>,
) -> Result<(), ConfigError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let value = match v {
            toml::Value::Table(t) => {
                flatten_toml(path, &key, t, out)?;
                continue;
            }
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Datetime(d) => d.to_string(),
            toml::Value::Array(_) => {
                return Err(ConfigError::BadValue {
                    key,
                    value: v.to_string(),
                    reason: format!(
                        "arrays are not settings values in {path}: write a comma-separated string"
                    ),
                })
            }
        };
        out.push((key, value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_file_forms() {
        let text = "# comment\n! other\nnum.partitions=3\nlog.retention.ms : 10\nauto.create.topics.enable false\nlog.cleanup.policy=compact,\\\n   delete\n";
        let kv = parse_properties("f", text).unwrap();
        assert_eq!(
            kv,
            vec![
                ("num.partitions".into(), "3".into()),
                ("log.retention.ms".into(), "10".into()),
                ("auto.create.topics.enable".into(), "false".into()),
                ("log.cleanup.policy".into(), "compact,delete".into()),
            ]
        );
    }

    #[test]
    fn properties_escapes_as_java_reads_them() {
        // What java.util.Properties.load gives for the same text (checked with Java 17):
        // \u escapes, escaped separators in keys, `\t`, a continuation that drops the
        // next line's leading blanks, a key with no value; Java keeps "x  ", and the
        // value is then trimmed as Kafka's ConfigDef trims it.
        let text = "pass\\u0077ord=caf\\u00e9\nweir\\=odd\\:key = a\\tb\nmulti=one, \\\n    two\nempty\nsp\\ ace=x  \n";
        let kv = parse_properties("f", text).unwrap();
        assert_eq!(
            kv,
            vec![
                ("password".into(), "caf\u{e9}".into()),
                ("weir=odd:key".into(), "a\tb".into()),
                ("multi".into(), "one, two".into()),
                ("empty".into(), "".into()),
                ("sp ace".into(), "x".into()),
            ]
        );
    }

    #[test]
    fn toml_file_forms() {
        let text = "num.partitions = 3 # three\n\"message.max.bytes\" = 2_000_000\n[log.retention]\nms = 10\n[log]\ncleanup.policy = \"compact\"\n";
        let kv = parse_toml("f", text).unwrap();
        assert_eq!(
            kv,
            vec![
                ("num.partitions".into(), "3".into()),
                ("message.max.bytes".into(), "2000000".into()),
                ("log.retention.ms".into(), "10".into()),
                ("log.cleanup.policy".into(), "compact".into()),
            ]
        );
        assert!(parse_toml("f", "x = [1, 2]").is_err());
    }

    #[test]
    fn toml_files_use_the_whole_grammar_and_errors_name_the_line() {
        let text = "[listener.name.sasl_plaintext.plain]\nsasl.jaas.config = '''org.apache.kafka.common.security.plain.PlainLoginModule required\n  user_admin=\"s3cret\";'''\nx = { y = 1 }\nnum = 1e3\n";
        let kv = parse_toml("f", text).unwrap();
        assert_eq!(
            kv[0].0,
            "listener.name.sasl_plaintext.plain.sasl.jaas.config"
        );
        assert!(
            kv[0].1.ends_with("required\n  user_admin=\"s3cret\";"),
            "{kv:?}"
        );
        assert_eq!(
            kv[1],
            ("listener.name.sasl_plaintext.plain.x.y".into(), "1".into())
        );
        assert_eq!(kv[2].1, "1000");
        match parse_toml("f", "a = 1\nb = \n") {
            Err(ConfigError::Syntax { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        assert!(parse_toml("f", "a = 1\na = 2\n").is_err(), "duplicate keys");
    }

    #[test]
    fn env_names_map_to_kafka_keys() {
        assert_eq!(
            env_key("WEIR_LOG_RETENTION_MS").as_deref(),
            Some("log.retention.ms")
        );
        assert_eq!(env_key("PATH"), None);
        // Kafka's container-image rule: `__` is `_`, `___` is `-`.
        assert_eq!(
            env_key("WEIR_LISTENER_NAME_SASL__SSL_SCRAM___SHA___512_SASL_JAAS_CONFIG").as_deref(),
            Some("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config")
        );
        assert_eq!(
            env_key("WEIR_WEIR_LOG_FORMAT").as_deref(),
            Some("weir.log.format")
        );
        assert_eq!(env_key("WEIR_BIN"), None);
        // And back.
        for key in [
            "log.retention.ms",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
            "weir.data.dir",
        ] {
            assert_eq!(env_key(&env_name(key)).as_deref(), Some(key));
        }
    }

    #[test]
    fn precedence_cli_over_env_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weir.properties");
        std::fs::write(
            &file,
            "num.partitions=2\nlog.retention.ms=100\nmessage.max.bytes=5000\n",
        )
        .unwrap();
        let env = vec![
            ("WEIR_LOG_RETENTION_MS".to_string(), "200".to_string()),
            ("WEIR_NUM_PARTITIONS".to_string(), "4".to_string()),
        ];
        let cli = vec![("num.partitions".to_string(), "6".to_string())];
        let s = load_settings(Some(&file), env, &cli).unwrap();
        assert_eq!(s.i64("num.partitions"), 6);
        assert_eq!(s.i64("log.retention.ms"), 200);
        assert_eq!(s.i64("message.max.bytes"), 5000);
        assert_eq!(s.source("message.max.bytes"), Source::File);
    }

    #[test]
    fn unknown_env_setting_is_an_error() {
        let env = vec![("WEIR_NO_SUCH_THING".to_string(), "1".to_string())];
        assert!(matches!(
            load_settings(None, env, &[]),
            Err(ConfigError::UnknownKey { .. })
        ));
    }
}
