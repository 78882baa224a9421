//! Broker settings by Apache Kafka property names: the table of known keys with
//! their types, defaults and limits, and the merge of the sources (CLI `--set` >
//! `WEIR_` environment variables > config file > default).
//!
//! To add a key, add one line to [`BROKER_KEYS`]; read it with the typed getters
//! ([`Settings::i64`], [`Settings::bool`], [`Settings::str`], [`Settings::f64`]).

use super::ConfigError;
use std::collections::BTreeMap;

/// The type (and limits) of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    /// An integer within `[min, max]`.
    Int {
        min: i64,
        max: i64,
    },
    /// A floating point number within `[min, max]`.
    Double {
        min: f64,
        max: f64,
    },
    /// A string, restricted to the given values when `Some` (compared case-sensitively,
    /// except that a list value, e.g. `compact,delete`, checks each item).
    Str(Option<&'static [&'static str]>),
    /// A comma-separated list of the given values.
    List(&'static [&'static str]),
}

/// One known key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyDef {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
}

const fn int(name: &'static str, min: i64, max: i64, default: &'static str) -> KeyDef {
    KeyDef {
        name,
        kind: Kind::Int { min, max },
        default,
    }
}
const fn str_key(name: &'static str, default: &'static str) -> KeyDef {
    KeyDef {
        name,
        kind: Kind::Str(None),
        default,
    }
}
const fn boolean(name: &'static str, default: &'static str) -> KeyDef {
    KeyDef {
        name,
        kind: Kind::Bool,
        default,
    }
}

pub const CLEANUP_POLICIES: &[&str] = &["delete", "compact"];
pub const COMPRESSION_TYPES: &[&str] =
    &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];
pub const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
pub const SSL_CLIENT_AUTH: &[&str] = &["none", "requested", "required"];

/// Every broker setting weir accepts, with Kafka's defaults.
pub const BROKER_KEYS: &[KeyDef] = &[
    int("node.id", 0, i32::MAX as i64, "1"),
    int("broker.id", -1, i32::MAX as i64, "-1"),
    boolean("auto.create.topics.enable", "true"),
    boolean("delete.topic.enable", "true"),
    int("num.partitions", 1, 1_000_000, "1"),
    int("default.replication.factor", 1, 1, "1"),
    int("message.max.bytes", 0, i32::MAX as i64, "1048588"),
    int("socket.request.max.bytes", 1, i32::MAX as i64, "104857600"),
    // Connection and request-memory limits of the accept and read side (src/limits.rs).
    int("max.connections", 0, i32::MAX as i64, "2147483647"),
    int("max.connections.per.ip", 0, i32::MAX as i64, "2147483647"),
    str_key("max.connections.per.ip.overrides", ""),
    int("connections.max.idle.ms", i64::MIN, i64::MAX, "600000"),
    int("queued.max.request.bytes", i64::MIN, i64::MAX, "-1"),
    // Listeners, TLS and SASL (src/security/); per listener overridable as
    // `listener.name.<listener>.<key>` (see [`Settings::listener_str`]).
    str_key("listeners", ""),
    str_key("advertised.listeners", ""),
    str_key(
        "listener.security.protocol.map",
        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
    ),
    str_key("sasl.enabled.mechanisms", "GSSAPI"),
    str_key("sasl.jaas.config", ""),
    int("sasl.server.max.receive.size", 1, i32::MAX as i64, "524288"),
    int("connections.max.reauth.ms", 0, i64::MAX, "0"),
    int(
        "connection.failed.authentication.delay.ms",
        0,
        i32::MAX as i64,
        "100",
    ),
    str_key("sasl.oauthbearer.expected.audience", ""),
    str_key("sasl.oauthbearer.expected.issuer", ""),
    str_key("sasl.oauthbearer.sub.claim.name", "sub"),
    str_key("sasl.oauthbearer.scope.claim.name", "scope"),
    str_key("sasl.oauthbearer.jwks.endpoint.url", ""),
    int(
        "sasl.oauthbearer.clock.skew.seconds",
        0,
        i32::MAX as i64,
        "30",
    ),
    str_key("ssl.keystore.type", "JKS"),
    str_key("ssl.keystore.location", ""),
    str_key("ssl.keystore.password", ""),
    str_key("ssl.keystore.key", ""),
    str_key("ssl.keystore.certificate.chain", ""),
    str_key("ssl.key.password", ""),
    str_key("ssl.truststore.type", "JKS"),
    str_key("ssl.truststore.location", ""),
    str_key("ssl.truststore.password", ""),
    str_key("ssl.truststore.certificates", ""),
    KeyDef {
        name: "ssl.client.auth",
        kind: Kind::Str(Some(SSL_CLIENT_AUTH)),
        default: "none",
    },
    str_key("ssl.principal.mapping.rules", "DEFAULT"),
    str_key("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"),
    str_key("ssl.protocol", "TLSv1.3"),
    str_key("ssl.cipher.suites", ""),
    str_key("ssl.endpoint.identification.algorithm", "https"),
    // weir-only: how often TLS key/certificate/truststore files are checked for changes.
    int("weir.ssl.reload.interval.ms", 10, i64::MAX, "5000"),
    // weir-only: PLAIN users from a file of salted PBKDF2 hashes (src/security/sasl/plain_file.rs),
    // re-read when it changes; per listener as `listener.name.<l>.weir.sasl.plain.users.file`.
    str_key("weir.sasl.plain.users.file", ""),
    // weir-only (`--dev-tls`): a throwaway CA and broker certificate in the data dir.
    boolean("weir.dev.tls", "false"),
    // weir-only (`--http-read-only`): the web console and its JSON endpoints change nothing.
    boolean("weir.http.read.only", "false"),
    // Logs (`--log-level`, `--log-format`): a level or RUST_LOG-style directives
    // (`info,weir::security=debug`); `text` or `json` lines on stderr.
    str_key("weir.log.level", "info"),
    str_key("weir.log.format", "text"),
    // `weir serve --listen/--advertise/--data-dir/--http` (src/cli.rs checks the
    // addresses): every flag has a key, so a file or WEIR_ variable can set it too.
    str_key("weir.listen", "127.0.0.1:9092"),
    str_key("weir.advertise", ""),
    str_key("weir.data.dir", "./weir-data"),
    str_key("weir.http", ""),
    int("log.retention.ms", -1, i64::MAX, "604800000"),
    int("log.retention.minutes", -1, i32::MAX as i64, "10080"),
    int("log.retention.hours", -1, i32::MAX as i64, "168"),
    int("log.retention.bytes", -1, i64::MAX, "-1"),
    int("log.segment.bytes", 14, i32::MAX as i64, "1073741824"),
    // The default of the topic key `file.delete.delay.ms` (how long a deleted segment
    // waits, renamed `.deleted`, before its files are removed).
    int("log.segment.delete.delay.ms", 0, i64::MAX, "60000"),
    int("log.roll.ms", 1, i64::MAX, "604800000"),
    int("log.roll.hours", 1, i32::MAX as i64, "168"),
    int("log.retention.check.interval.ms", 1, i64::MAX, "300000"),
    int("log.cleaner.backoff.ms", 0, i64::MAX, "15000"),
    KeyDef {
        name: "log.cleanup.policy",
        kind: Kind::List(CLEANUP_POLICIES),
        default: "delete",
    },
    int("log.cleaner.min.compaction.lag.ms", 0, i64::MAX, "0"),
    int(
        "log.cleaner.max.compaction.lag.ms",
        1,
        i64::MAX,
        "9223372036854775807",
    ),
    KeyDef {
        name: "log.cleaner.io.max.bytes.per.second",
        kind: Kind::Double {
            min: 0.0,
            max: f64::MAX,
        },
        default: "1.7976931348623157E308",
    },
    int("log.cleaner.dedupe.buffer.size", 1, i64::MAX, "134217728"),
    int("log.cleaner.delete.retention.ms", 0, i64::MAX, "86400000"),
    KeyDef {
        name: "log.cleaner.min.cleanable.ratio",
        kind: Kind::Double { min: 0.0, max: 1.0 },
        default: "0.5",
    },
    boolean("log.cleaner.enable", "true"),
    int(
        "log.flush.interval.messages",
        1,
        i64::MAX,
        "9223372036854775807",
    ),
    int("log.flush.interval.ms", 0, i64::MAX, "9223372036854775807"),
    int("log.index.interval.bytes", 0, i32::MAX as i64, "4096"),
    int("log.index.size.max.bytes", 4, i32::MAX as i64, "10485760"),
    // Segments open at once; 0 sizes it from RLIMIT_NOFILE and vm.max_map_count.
    int("weir.log.max.open.segments", 0, i32::MAX as i64, "0"),
    KeyDef {
        name: "log.message.timestamp.type",
        kind: Kind::Str(Some(TIMESTAMP_TYPES)),
        default: "CreateTime",
    },
    int(
        "log.message.timestamp.before.max.ms",
        0,
        i64::MAX,
        "9223372036854775807",
    ),
    int("log.message.timestamp.after.max.ms", 0, i64::MAX, "3600000"),
    KeyDef {
        name: "compression.type",
        kind: Kind::Str(Some(COMPRESSION_TYPES)),
        default: "producer",
    },
    int("min.insync.replicas", 1, i32::MAX as i64, "1"),
    boolean("unclean.leader.election.enable", "false"),
    int(
        "group.initial.rebalance.delay.ms",
        0,
        i32::MAX as i64,
        "3000",
    ),
    int("group.min.session.timeout.ms", 0, i32::MAX as i64, "6000"),
    int(
        "group.max.session.timeout.ms",
        0,
        i32::MAX as i64,
        "1800000",
    ),
    int("group.max.size", 1, i32::MAX as i64, "2147483647"),
    int(
        "group.consumer.session.timeout.ms",
        1,
        i32::MAX as i64,
        "45000",
    ),
    int(
        "group.consumer.heartbeat.interval.ms",
        1,
        i32::MAX as i64,
        "5000",
    ),
    int("group.consumer.max.size", 1, i32::MAX as i64, "2147483647"),
    // Share groups (KIP-932): Kafka's names, defaults and ranges.
    int("group.share.delivery.count.limit", 2, 10, "5"),
    int(
        "group.share.record.lock.duration.ms",
        1000,
        3_600_000,
        "30000",
    ),
    int(
        "group.share.partition.max.record.locks",
        100,
        10_000,
        "2000",
    ),
    int(
        "group.share.heartbeat.interval.ms",
        1,
        i32::MAX as i64,
        "5000",
    ),
    int(
        "group.share.session.timeout.ms",
        1,
        i32::MAX as i64,
        "45000",
    ),
    // Streams groups (KIP-1071), read by the group coordinator's config.
    int(
        "group.streams.session.timeout.ms",
        1,
        i32::MAX as i64,
        "45000",
    ),
    int(
        "group.streams.heartbeat.interval.ms",
        1,
        i32::MAX as i64,
        "5000",
    ),
    int(
        "group.streams.num.standby.replicas",
        0,
        i32::MAX as i64,
        "0",
    ),
    int("group.streams.max.size", 1, i32::MAX as i64, "2147483647"),
    int(
        "group.streams.initial.rebalance.delay.ms",
        0,
        i32::MAX as i64,
        "3000",
    ),
    int(
        "group.streams.assignment.interval.ms",
        0,
        i32::MAX as i64,
        "1000",
    ),
    str_key("group.streams.rack.aware.assignment.tags", ""),
    // Checked (case-insensitively, as Kafka) by the group coordinator's config.
    KeyDef {
        name: "group.consumer.migration.policy",
        kind: Kind::Str(None),
        default: "bidirectional",
    },
    int("offset.metadata.max.bytes", 0, i32::MAX as i64, "4096"),
    int("offsets.topic.num.partitions", 1, 10_000, "50"),
    int("offsets.retention.minutes", 1, i32::MAX as i64, "10080"),
    int("offsets.retention.check.interval.ms", 1, i64::MAX, "600000"),
    int(
        "transactional.id.expiration.ms",
        1,
        i32::MAX as i64,
        "604800000",
    ),
    int("transaction.max.timeout.ms", 1, i32::MAX as i64, "900000"),
    int("producer.id.expiration.ms", 1, i32::MAX as i64, "86400000"),
    int(
        "max.incremental.fetch.session.cache.slots",
        0,
        i32::MAX as i64,
        "1000",
    ),
    KeyDef {
        name: "cluster.id",
        kind: Kind::Str(None),
        default: "weir-cluster",
    },
    // Authorization (src/acl): the authorizer's class name turns ACLs on.
    KeyDef {
        name: "authorizer.class.name",
        kind: Kind::Str(None),
        default: "",
    },
    KeyDef {
        name: "super.users",
        kind: Kind::Str(None),
        default: "",
    },
    boolean("allow.everyone.if.no.acl.found", "false"),
    // Client quotas (src/quota): the sampled windows rates are measured over.
    int("quota.window.num", 1, i32::MAX as i64, "11"),
    int("quota.window.size.seconds", 1, i32::MAX as i64, "1"),
    int("controller.quota.window.num", 1, i32::MAX as i64, "11"),
    int(
        "controller.quota.window.size.seconds",
        1,
        i32::MAX as i64,
        "1",
    ),
];

/// Where a setting's value came from (precedence: Cli > Env > File > Default;
/// the dynamic broker configs, set at run time, overlay them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Default,
    File,
    Env,
    Cli,
    /// A cluster-wide dynamic default (BROKER resource `""`).
    DynamicDefault,
    /// A dynamic config of this broker (BROKER resource `"<node id>"`).
    DynamicBroker,
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
}

/// One setting: its text as given, the parsed value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub def: &'static KeyDef,
    pub raw: String,
    pub value: Value,
    pub source: Source,
}

/// Look a key up in [`BROKER_KEYS`].
pub fn key_def(name: &str) -> Option<&'static KeyDef> {
    BROKER_KEYS.iter().find(|k| k.name == name)
}

/// Parse and check `raw` as a value of `def`.
pub fn parse_value(def: &KeyDef, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    match def.kind {
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("expected true or false".into()),
        },
        Kind::Int { min, max } => {
            let v: i64 = raw.parse().map_err(|_| "expected an integer".to_string())?;
            if v < min || v > max {
                return Err(format!("must be between {min} and {max}"));
            }
            Ok(Value::Int(v))
        }
        Kind::Double { min, max } => {
            let v: f64 = raw.parse().map_err(|_| "expected a number".to_string())?;
            if !(min..=max).contains(&v) {
                return Err(format!("must be between {min} and {max}"));
            }
            Ok(Value::Double(v))
        }
        Kind::Str(None) => Ok(Value::Str(raw.to_string())),
        Kind::Str(Some(allowed)) => {
            if allowed.contains(&raw) {
                Ok(Value::Str(raw.to_string()))
            } else {
                Err(format!("must be one of {}", allowed.join(", ")))
            }
        }
        Kind::List(allowed) => {
            let items: Vec<&str> = raw.split(',').map(str::trim).collect();
            if items.is_empty() || items.iter().any(|i| !allowed.contains(i)) {
                return Err(format!(
                    "must be a comma-separated list of {}",
                    allowed.join(", ")
                ));
            }
            Ok(Value::Str(items.join(",")))
        }
    }
}

/// The broker's settings: every key of [`BROKER_KEYS`] with a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    values: BTreeMap<&'static str, Setting>,
    /// `listener.name.<listener>.[<mechanism>.]<key>` overrides, by full key
    /// (listener and mechanism lower-cased, as Kafka's prefixes are).
    listener_overrides: BTreeMap<String, Setting>,
}

/// SASL mechanisms a `listener.name.<l>.<mechanism>.<key>` prefix may name.
const MECHANISM_PREFIXES: &[&str] = &[
    "plain",
    "scram-sha-256",
    "scram-sha-512",
    "oauthbearer",
    "gssapi",
];

impl Default for Settings {
    fn default() -> Self {
        let values = BROKER_KEYS
            .iter()
            .map(|def| {
                let value = parse_value(def, def.default).expect("default values are valid");
                (
                    def.name,
                    Setting {
                        def,
                        raw: def.default.to_string(),
                        value,
                        source: Source::Default,
                    },
                )
            })
            .collect();
        Settings {
            values,
            listener_overrides: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// Set `key` from `source`. A value from a lower-precedence source never
    /// replaces one from a higher-precedence source.
    pub fn set(&mut self, key: &str, raw: &str, source: Source) -> Result<(), ConfigError> {
        if key.starts_with("listener.name.") {
            return self.set_listener_override(key, raw, source);
        }
        let def = key_def(key).ok_or_else(|| ConfigError::UnknownKey {
            key: key.to_string(),
            from: source,
        })?;
        let value = parse_value(def, raw).map_err(|reason| ConfigError::BadValue {
            key: key.to_string(),
            value: raw.to_string(),
            reason,
        })?;
        let slot = self.values.get_mut(def.name).expect("all keys present");
        if source >= slot.source {
            *slot = Setting {
                def,
                raw: raw.trim().to_string(),
                value,
                source,
            };
        }
        Ok(())
    }

    /// `listener.name.<listener>.[<mechanism>.]<key>`: `<key>` must be a known key.
    fn set_listener_override(
        &mut self,
        key: &str,
        raw: &str,
        source: Source,
    ) -> Result<(), ConfigError> {
        let unknown = || ConfigError::UnknownKey {
            key: key.to_string(),
            from: source,
        };
        let rest = &key["listener.name.".len()..];
        let (listener, rest) = rest.split_once('.').ok_or_else(unknown)?;
        let rest = match rest.split_once('.') {
            Some((mech, r)) if MECHANISM_PREFIXES.contains(&mech.to_ascii_lowercase().as_str()) => {
                r
            }
            _ => rest,
        };
        if listener.is_empty() {
            return Err(unknown());
        }
        let def = key_def(rest).ok_or_else(unknown)?;
        let value = parse_value(def, raw).map_err(|reason| ConfigError::BadValue {
            key: key.to_string(),
            value: raw.to_string(),
            reason,
        })?;
        let full = key.to_ascii_lowercase();
        let keep = self
            .listener_overrides
            .get(&full)
            .is_some_and(|s| s.source > source);
        if !keep {
            self.listener_overrides.insert(
                full,
                Setting {
                    def,
                    raw: raw.trim().to_string(),
                    value,
                    source,
                },
            );
        }
        Ok(())
    }

    /// String setting `key` for listener `listener`: `listener.name.<listener>.<key>`
    /// when given, else the broker-wide `key`.
    pub fn listener_str(&self, listener: &str, key: &str) -> &str {
        let full = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
        match self.listener_overrides.get(&full).map(|s| &s.value) {
            Some(Value::Str(v)) => v,
            _ => self.str(key),
        }
    }

    /// `listener.name.<listener>.<key>` only, when given (no broker-wide fallback).
    pub fn listener_override(&self, listener: &str, key: &str) -> Option<&str> {
        let full = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
        match self.listener_overrides.get(&full).map(|s| &s.value) {
            Some(Value::Str(v)) => Some(v),
            _ => None,
        }
    }

    /// Integer setting `key` for listener `listener` (as [`Settings::listener_str`]).
    pub fn listener_i64(&self, listener: &str, key: &str) -> i64 {
        let full = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
        match self.listener_overrides.get(&full).map(|s| &s.value) {
            Some(Value::Int(v)) => *v,
            _ => self.i64(key),
        }
    }

    /// `listener.name.<listener>.<mechanism>.<key>` (Kafka's per-mechanism
    /// prefix, e.g. `...plain.sasl.jaas.config`), else the listener's `key`.
    pub fn listener_mechanism_str(&self, listener: &str, mechanism: &str, key: &str) -> &str {
        let full = format!(
            "listener.name.{}.{}.{key}",
            listener.to_ascii_lowercase(),
            mechanism.to_ascii_lowercase()
        );
        match self.listener_overrides.get(&full).map(|s| &s.value) {
            Some(Value::Str(v)) => v,
            _ => self.listener_str(listener, key),
        }
    }

    /// Every setting, by key.
    pub fn iter(&self) -> impl Iterator<Item = &Setting> {
        self.values.values()
    }

    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.values.get(key)
    }

    fn value(&self, key: &str) -> &Value {
        &self
            .values
            .get(key)
            .unwrap_or_else(|| panic!("unknown broker setting {key}"))
            .value
    }

    /// An integer setting. Panics on a key that is not an integer key (a programming error).
    pub fn i64(&self, key: &str) -> i64 {
        match self.value(key) {
            Value::Int(v) => *v,
            other => panic!("setting {key} is not an integer: {other:?}"),
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        match self.value(key) {
            Value::Bool(v) => *v,
            other => panic!("setting {key} is not a boolean: {other:?}"),
        }
    }

    pub fn f64(&self, key: &str) -> f64 {
        match self.value(key) {
            Value::Double(v) => *v,
            other => panic!("setting {key} is not a number: {other:?}"),
        }
    }

    pub fn str(&self, key: &str) -> &str {
        match self.value(key) {
            Value::Str(v) => v,
            other => panic!("setting {key} is not a string: {other:?}"),
        }
    }

    pub fn source(&self, key: &str) -> Source {
        self.values
            .get(key)
            .map(|s| s.source)
            .unwrap_or(Source::Default)
    }

    /// This broker's node id (`node.id`, or `broker.id` when that is set).
    pub fn node_id(&self) -> i32 {
        let broker_id = self.i64("broker.id");
        if self.source("broker.id") != Source::Default && broker_id >= 0 {
            broker_id as i32
        } else {
            self.i64("node.id") as i32
        }
    }

    /// Effective log retention in ms, from `log.retention.ms`, else `.minutes`, else `.hours`
    /// (Kafka's precedence); -1 = unlimited.
    pub fn log_retention_ms(&self) -> i64 {
        if self.source("log.retention.ms") != Source::Default {
            return self.i64("log.retention.ms");
        }
        if self.source("log.retention.minutes") != Source::Default {
            let m = self.i64("log.retention.minutes");
            return if m < 0 { -1 } else { m.saturating_mul(60_000) };
        }
        let h = self.i64("log.retention.hours");
        if h < 0 {
            -1
        } else {
            h.saturating_mul(3_600_000)
        }
    }

    /// Effective segment roll time in ms (`log.roll.ms`, else `log.roll.hours`).
    pub fn log_roll_ms(&self) -> i64 {
        if self.source("log.roll.ms") != Source::Default {
            return self.i64("log.roll.ms");
        }
        self.i64("log.roll.hours").saturating_mul(3_600_000)
    }

    /// `log.flush.interval.messages` as an option (Long.MAX = never).
    pub fn flush_interval_messages(&self) -> Option<u64> {
        let v = self.i64("log.flush.interval.messages");
        (v != i64::MAX).then_some(v as u64)
    }

    /// `log.flush.interval.ms` as an option (Long.MAX = never).
    pub fn flush_interval_ms(&self) -> Option<u64> {
        let v = self.i64("log.flush.interval.ms");
        (v != i64::MAX).then_some(v as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_kafka() {
        let s = Settings::default();
        assert_eq!(s.i64("num.partitions"), 1);
        assert!(s.bool("auto.create.topics.enable"));
        assert_eq!(s.i64("message.max.bytes"), 1_048_588);
        assert_eq!(s.log_retention_ms(), 604_800_000);
        assert_eq!(s.flush_interval_messages(), None);
        assert_eq!(s.node_id(), 1);
    }

    #[test]
    fn higher_precedence_source_wins_regardless_of_order() {
        let mut s = Settings::default();
        s.set("num.partitions", "3", Source::Cli).unwrap();
        s.set("num.partitions", "5", Source::File).unwrap();
        s.set("num.partitions", "4", Source::Env).unwrap();
        assert_eq!(s.i64("num.partitions"), 3);
        assert_eq!(s.source("num.partitions"), Source::Cli);
    }

    #[test]
    fn unknown_key_and_bad_values_are_errors() {
        let mut s = Settings::default();
        assert!(matches!(
            s.set("no.such.key", "1", Source::Cli),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            s.set("num.partitions", "zero", Source::Cli),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            s.set("num.partitions", "0", Source::Cli),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            s.set("auto.create.topics.enable", "yes", Source::Cli),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            s.set("log.cleanup.policy", "shred", Source::Cli),
            Err(ConfigError::BadValue { .. })
        ));
        s.set("log.cleanup.policy", "compact, delete", Source::Cli)
            .unwrap();
        assert_eq!(s.str("log.cleanup.policy"), "compact,delete");
    }

    #[test]
    fn retention_hours_apply_when_ms_not_given() {
        let mut s = Settings::default();
        s.set("log.retention.hours", "1", Source::File).unwrap();
        assert_eq!(s.log_retention_ms(), 3_600_000);
        s.set("log.retention.ms", "5", Source::File).unwrap();
        assert_eq!(s.log_retention_ms(), 5);
    }
}
