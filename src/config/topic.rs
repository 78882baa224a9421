//! The typed topic-config model: Kafka's topic config names, their broker-level
//! defaults (synonyms), validation, and the effective value with its source as
//! DescribeConfigs reports it.
//!
//! A [`TopicConfig`] holds only the per-topic overrides; everything else falls
//! back to the broker setting named in [`TopicKeyDef::broker_key`]. Extend by
//! adding a line to [`TOPIC_KEYS`] (AlterConfigs and retention build on this).

use super::broker::{self, parse_value, KeyDef, Kind, Settings, Source, Value};
use std::collections::BTreeMap;
use weir_storage::{
    CleanerConfig, Compression, FlushPolicy, LogConfig, RetentionPolicy, TimestampType,
};

/// One topic config key.
#[derive(Debug, Clone, Copy)]
pub struct TopicKeyDef {
    pub name: &'static str,
    /// The broker setting that provides the default.
    pub broker_key: &'static str,
    pub kind: Kind,
}

const fn key(name: &'static str, broker_key: &'static str, kind: Kind) -> TopicKeyDef {
    TopicKeyDef {
        name,
        broker_key,
        kind,
    }
}
const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

/// Every topic config weir knows.
pub const TOPIC_KEYS: &[TopicKeyDef] = &[
    key(
        "cleanup.policy",
        "log.cleanup.policy",
        Kind::List(broker::CLEANUP_POLICIES),
    ),
    key(
        "compression.type",
        "compression.type",
        Kind::Str(Some(broker::COMPRESSION_TYPES)),
    ),
    key(
        "delete.retention.ms",
        "log.cleaner.delete.retention.ms",
        int(0, i64::MAX),
    ),
    key(
        "flush.messages",
        "log.flush.interval.messages",
        int(1, i64::MAX),
    ),
    key("flush.ms", "log.flush.interval.ms", int(0, i64::MAX)),
    key(
        "index.interval.bytes",
        "log.index.interval.bytes",
        int(0, i32::MAX as i64),
    ),
    key(
        "max.message.bytes",
        "message.max.bytes",
        int(0, i32::MAX as i64),
    ),
    key(
        "message.timestamp.type",
        "log.message.timestamp.type",
        Kind::Str(Some(broker::TIMESTAMP_TYPES)),
    ),
    key(
        "min.cleanable.dirty.ratio",
        "log.cleaner.min.cleanable.ratio",
        Kind::Double { min: 0.0, max: 1.0 },
    ),
    key(
        "min.compaction.lag.ms",
        "log.cleaner.min.compaction.lag.ms",
        int(0, i64::MAX),
    ),
    key(
        "max.compaction.lag.ms",
        "log.cleaner.max.compaction.lag.ms",
        int(1, i64::MAX),
    ),
    key(
        "min.insync.replicas",
        "min.insync.replicas",
        int(1, i32::MAX as i64),
    ),
    key("retention.bytes", "log.retention.bytes", int(-1, i64::MAX)),
    key("retention.ms", "log.retention.ms", int(-1, i64::MAX)),
    key(
        "segment.bytes",
        "log.segment.bytes",
        int(14, i32::MAX as i64),
    ),
    key(
        "segment.index.bytes",
        "log.index.size.max.bytes",
        int(4, i32::MAX as i64),
    ),
    key("segment.ms", "log.roll.ms", int(1, i64::MAX)),
    key(
        "unclean.leader.election.enable",
        "unclean.leader.election.enable",
        Kind::Bool,
    ),
];

pub fn topic_key_def(name: &str) -> Option<&'static TopicKeyDef> {
    TOPIC_KEYS.iter().find(|k| k.name == name)
}

/// A rejected topic config (Kafka answers INVALID_CONFIG).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TopicConfigError {
    #[error("unknown topic config '{0}'")]
    UnknownKey(String),
    #[error("invalid value '{value}' for topic config '{key}': {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
}

/// Where an effective topic config value comes from (DescribeConfigs `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// A per-topic override (`DYNAMIC_TOPIC_CONFIG` = 1).
    Topic,
    /// A broker setting given on the command line, env or file (`STATIC_BROKER_CONFIG` = 4).
    StaticBroker,
    /// Kafka's default (`DEFAULT_CONFIG` = 5).
    Default,
}

impl ConfigSource {
    /// The DescribeConfigs wire value.
    pub fn code(self) -> i8 {
        match self {
            ConfigSource::Topic => 1,
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
        }
    }
    pub fn from_broker(source: Source) -> ConfigSource {
        if source == Source::Default {
            ConfigSource::Default
        } else {
            ConfigSource::StaticBroker
        }
    }
}

/// One effective config entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigSource,
}

/// A topic's config overrides (validated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfig {
    overrides: BTreeMap<String, String>,
}

fn check(name: &str, value: &str) -> Result<(&'static TopicKeyDef, String), TopicConfigError> {
    let def = topic_key_def(name).ok_or_else(|| TopicConfigError::UnknownKey(name.to_string()))?;
    let as_broker = KeyDef {
        name: def.name,
        kind: def.kind,
        default: "",
    };
    let parsed = parse_value(&as_broker, value).map_err(|reason| TopicConfigError::BadValue {
        key: name.to_string(),
        value: value.to_string(),
        reason,
    })?;
    let normal = match parsed {
        Value::Str(s) => s,
        _ => value.trim().to_string(),
    };
    Ok((def, normal))
}

impl TopicConfig {
    /// Validate and collect overrides (later pairs replace earlier ones).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, TopicConfigError> {
        let mut cfg = TopicConfig::default();
        for (k, v) in pairs {
            cfg.set(k, v)?;
        }
        Ok(cfg)
    }

    /// Set one override after validating it.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), TopicConfigError> {
        let (def, normal) = check(name, value)?;
        self.overrides.insert(def.name.to_string(), normal);
        Ok(())
    }

    /// Remove an override (back to the broker default).
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.overrides.remove(name)
    }

    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// The effective value and source of one key; `None` for unknown keys.
    pub fn effective(&self, name: &str, broker: &Settings) -> Option<ConfigEntry> {
        let def = topic_key_def(name)?;
        if let Some(v) = self.overrides.get(def.name) {
            return Some(ConfigEntry {
                name: def.name,
                value: v.clone(),
                source: ConfigSource::Topic,
            });
        }
        let (value, source) = broker_default(def, broker);
        Some(ConfigEntry {
            name: def.name,
            value,
            source: ConfigSource::from_broker(source),
        })
    }

    /// Every key's effective value, in name order.
    pub fn entries(&self, broker: &Settings) -> Vec<ConfigEntry> {
        TOPIC_KEYS
            .iter()
            .filter_map(|d| self.effective(d.name, broker))
            .collect()
    }

    fn int(&self, name: &str, broker: &Settings) -> i64 {
        self.effective(name, broker)
            .and_then(|e| e.value.parse().ok())
            .unwrap_or_else(|| panic!("topic config {name} is a validated integer"))
    }

    pub fn max_message_bytes(&self, broker: &Settings) -> i64 {
        self.int("max.message.bytes", broker)
    }
    pub fn retention_ms(&self, broker: &Settings) -> i64 {
        self.int("retention.ms", broker)
    }
    pub fn retention_bytes(&self, broker: &Settings) -> i64 {
        self.int("retention.bytes", broker)
    }
    pub fn segment_bytes(&self, broker: &Settings) -> i64 {
        self.int("segment.bytes", broker)
    }
    pub fn segment_ms(&self, broker: &Settings) -> i64 {
        self.int("segment.ms", broker)
    }
    /// `flush.messages`, `None` when never.
    pub fn flush_messages(&self, broker: &Settings) -> Option<u64> {
        let v = self.int("flush.messages", broker);
        (v != i64::MAX).then_some(v as u64)
    }
    /// `flush.ms`, `None` when never.
    pub fn flush_ms(&self, broker: &Settings) -> Option<u64> {
        let v = self.int("flush.ms", broker);
        (v != i64::MAX).then_some(v as u64)
    }
    pub fn timestamp_type(&self, broker: &Settings) -> TimestampType {
        match self
            .effective("message.timestamp.type", broker)
            .map(|e| e.value)
            .as_deref()
        {
            Some("LogAppendTime") => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        }
    }
    /// `compression.type` (`producer` = keep what the producer sent).
    pub fn compression_type(&self, broker: &Settings) -> String {
        self.effective("compression.type", broker)
            .map(|e| e.value)
            .unwrap_or_else(|| "producer".into())
    }
    /// `cleanup.policy` as its list items.
    pub fn cleanup_policy(&self, broker: &Settings) -> Vec<String> {
        self.effective("cleanup.policy", broker)
            .map(|e| e.value.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Whether `cleanup.policy` includes `compact`.
    pub fn is_compacted(&self, broker: &Settings) -> bool {
        self.cleanup_policy(broker).iter().any(|p| p == "compact")
    }
    /// Whether `cleanup.policy` includes `delete` (time/size retention applies).
    pub fn is_delete(&self, broker: &Settings) -> bool {
        self.cleanup_policy(broker).iter().any(|p| p == "delete")
    }

    /// Time/size retention for this topic's logs: `retention.ms` and
    /// `retention.bytes` when `cleanup.policy` includes `delete`, else none.
    pub fn retention_policy(&self, broker: &Settings) -> RetentionPolicy {
        if self.is_delete(broker) {
            RetentionPolicy::from_kafka(self.retention_ms(broker), self.retention_bytes(broker))
        } else {
            RetentionPolicy::default()
        }
    }

    /// The log cleaner's settings for this topic's logs.
    pub fn cleaner_config(&self, broker: &Settings) -> CleanerConfig {
        let ratio = self
            .effective("min.cleanable.dirty.ratio", broker)
            .and_then(|e| e.value.parse().ok())
            .unwrap_or(0.5);
        let io = broker.f64("log.cleaner.io.max.bytes.per.second");
        // Kafka's map holds 24 bytes per entry (16-byte hash + offset).
        let entries = (broker.i64("log.cleaner.dedupe.buffer.size") / 24).max(1);
        CleanerConfig {
            min_compaction_lag_ms: self.int("min.compaction.lag.ms", broker),
            max_compaction_lag_ms: self.int("max.compaction.lag.ms", broker),
            delete_retention_ms: self.int("delete.retention.ms", broker),
            min_cleanable_dirty_ratio: ratio,
            segment_bytes: self.segment_bytes(broker).max(1) as u64,
            max_map_entries: entries.min(usize::MAX as i64) as usize,
            io_max_bytes_per_sec: (io.is_finite() && io < 1e18).then_some(io as u64),
        }
    }

    /// Checks across keys that Kafka makes (`LogConfig.validate`).
    pub fn validate_combination(&self, broker: &Settings) -> Result<(), TopicConfigError> {
        let min = self.int("min.compaction.lag.ms", broker);
        let max = self.int("max.compaction.lag.ms", broker);
        if min > max {
            return Err(TopicConfigError::BadValue {
                key: "min.compaction.lag.ms".into(),
                value: min.to_string(),
                reason: format!("must not be greater than max.compaction.lag.ms {max}"),
            });
        }
        Ok(())
    }

    /// The storage engine's settings for this topic's partition logs.
    pub fn log_config(&self, broker: &Settings) -> LogConfig {
        LogConfig {
            segment_bytes: self.segment_bytes(broker).max(1) as u64,
            segment_ms: self.segment_ms(broker).max(1) as u64,
            index_interval_bytes: self
                .int("index.interval.bytes", broker)
                .clamp(0, u32::MAX as i64) as u32,
            max_index_bytes: self
                .int("segment.index.bytes", broker)
                .clamp(4, u32::MAX as i64) as u32,
            flush: FlushPolicy {
                messages: self.flush_messages(broker),
                interval_ms: self.flush_ms(broker),
            },
            timestamp_type: self.timestamp_type(broker),
        }
    }

    /// Serialise the overrides as `key=value` lines (for the topic registry checkpoint).
    pub fn to_lines(&self) -> Vec<String> {
        self.overrides
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }
}

/// A topic's config resolved against the broker settings, typed: built once
/// when the topic is created or opened and again when its overrides change
/// (broker settings are fixed while the broker runs), so the produce path and
/// the log manager read plain fields instead of re-parsing strings.
#[derive(Debug, Clone)]
pub struct ResolvedTopicConfig {
    /// The overrides it was resolved from (DescribeConfigs, the checkpoint).
    pub overrides: TopicConfig,
    /// `max.message.bytes`.
    pub max_message_bytes: i64,
    /// `compression.type` as a codec; `None` keeps the producer's (`producer`).
    pub compression: Option<Compression>,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `cleanup.policy` includes `compact` (records need keys; the cleaner runs).
    pub compacted: bool,
    /// Time/size retention ([`TopicConfig::retention_policy`]).
    pub retention: RetentionPolicy,
    /// The cleaner's settings ([`TopicConfig::cleaner_config`]).
    pub cleaner: CleanerConfig,
    /// The partition logs' settings ([`TopicConfig::log_config`]).
    pub log: LogConfig,
}

impl ResolvedTopicConfig {
    pub fn resolve(overrides: TopicConfig, broker: &Settings) -> Self {
        ResolvedTopicConfig {
            max_message_bytes: overrides.max_message_bytes(broker),
            compression: codec(&overrides.compression_type(broker)),
            timestamp_type: overrides.timestamp_type(broker),
            compacted: overrides.is_compacted(broker),
            retention: overrides.retention_policy(broker),
            cleaner: overrides.cleaner_config(broker),
            log: overrides.log_config(broker),
            overrides,
        }
    }
}

/// The codec a `compression.type` value names; `None` for `producer`.
fn codec(compression_type: &str) -> Option<Compression> {
    match compression_type {
        "uncompressed" => Some(Compression::None),
        "gzip" => Some(Compression::Gzip),
        "snappy" => Some(Compression::Snappy),
        "lz4" => Some(Compression::Lz4),
        "zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

/// The broker-level value (and its source) a topic key falls back to.
fn broker_default(def: &TopicKeyDef, broker: &Settings) -> (String, Source) {
    match def.name {
        // Kafka derives these from several broker keys (ms > minutes > hours).
        "retention.ms" => {
            let src = [
                "log.retention.ms",
                "log.retention.minutes",
                "log.retention.hours",
            ]
            .iter()
            .map(|k| broker.source(k))
            .max()
            .unwrap_or(Source::Default);
            (broker.log_retention_ms().to_string(), src)
        }
        "segment.ms" => {
            let src = broker
                .source("log.roll.ms")
                .max(broker.source("log.roll.hours"));
            (broker.log_roll_ms().to_string(), src)
        }
        _ => match broker.get(def.broker_key) {
            Some(s) => (s.raw.clone(), s.source),
            None => (String::new(), Source::Default),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_key_has_a_broker_synonym() {
        for def in TOPIC_KEYS {
            assert!(
                broker::key_def(def.broker_key).is_some(),
                "{} -> {}",
                def.name,
                def.broker_key
            );
        }
    }

    #[test]
    fn compacted_means_compact_in_the_cleanup_policy_list() {
        // The produce validator requires keys exactly on these topics.
        let s = Settings::default();
        let cfg = |p: &str| TopicConfig::from_pairs([("cleanup.policy", p)]).unwrap();
        for policy in ["compact", "compact,delete", "delete,compact"] {
            assert!(cfg(policy).is_compacted(&s), "{policy}");
        }
        assert!(!cfg("delete").is_compacted(&s));
        assert!(!TopicConfig::default().is_compacted(&s));
    }

    #[test]
    fn resolved_config_matches_the_string_lookups() {
        let mut broker = Settings::default();
        broker.set("compression.type", "lz4", Source::Cli).unwrap();
        let cfg = TopicConfig::from_pairs([
            ("max.message.bytes", "4321"),
            ("cleanup.policy", "compact,delete"),
            ("message.timestamp.type", "LogAppendTime"),
            ("retention.ms", "1000"),
        ])
        .unwrap();
        let r = ResolvedTopicConfig::resolve(cfg.clone(), &broker);
        assert_eq!(r.max_message_bytes, 4321);
        assert_eq!(r.compression, Some(Compression::Lz4));
        assert_eq!(r.timestamp_type, TimestampType::LogAppendTime);
        assert!(r.compacted);
        assert_eq!(r.retention, cfg.retention_policy(&broker));
        assert_eq!(r.cleaner, cfg.cleaner_config(&broker));
        assert_eq!(r.log, cfg.log_config(&broker));
        assert_eq!(r.overrides, cfg);
        let d = ResolvedTopicConfig::resolve(TopicConfig::default(), &Settings::default());
        assert_eq!(d.compression, None, "producer keeps the producer's codec");
        assert!(!d.compacted);
        for (name, c) in [
            ("uncompressed", Compression::None),
            ("gzip", Compression::Gzip),
            ("snappy", Compression::Snappy),
            ("zstd", Compression::Zstd),
        ] {
            let cfg = TopicConfig::from_pairs([("compression.type", name)]).unwrap();
            let r = ResolvedTopicConfig::resolve(cfg, &Settings::default());
            assert_eq!(r.compression, Some(c), "{name}");
        }
    }

    #[test]
    fn overrides_win_and_report_topic_source() {
        let mut broker = Settings::default();
        broker.set("log.retention.ms", "1000", Source::Cli).unwrap();
        let cfg = TopicConfig::from_pairs([("max.message.bytes", "500")]).unwrap();
        let e = cfg.effective("max.message.bytes", &broker).unwrap();
        assert_eq!((e.value.as_str(), e.source), ("500", ConfigSource::Topic));
        let e = cfg.effective("retention.ms", &broker).unwrap();
        assert_eq!(
            (e.value.as_str(), e.source),
            ("1000", ConfigSource::StaticBroker)
        );
        let e = cfg.effective("segment.bytes", &broker).unwrap();
        assert_eq!(
            (e.value.as_str(), e.source),
            ("1073741824", ConfigSource::Default)
        );
        assert_eq!(cfg.max_message_bytes(&broker), 500);
    }

    #[test]
    fn bad_topic_configs_are_rejected() {
        assert_eq!(
            TopicConfig::from_pairs([("no.such", "1")]),
            Err(TopicConfigError::UnknownKey("no.such".into()))
        );
        assert!(matches!(
            TopicConfig::from_pairs([("retention.ms", "soon")]),
            Err(TopicConfigError::BadValue { .. })
        ));
        assert!(matches!(
            TopicConfig::from_pairs([("cleanup.policy", "shred")]),
            Err(TopicConfigError::BadValue { .. })
        ));
        assert!(matches!(
            TopicConfig::from_pairs([("message.timestamp.type", "Now")]),
            Err(TopicConfigError::BadValue { .. })
        ));
    }

    #[test]
    fn log_config_follows_flush_and_timestamp_settings() {
        let mut broker = Settings::default();
        broker
            .set("log.flush.interval.messages", "1", Source::Cli)
            .unwrap();
        let cfg = TopicConfig::from_pairs([("message.timestamp.type", "LogAppendTime")]).unwrap();
        let lc = cfg.log_config(&broker);
        assert_eq!(lc.flush.messages, Some(1));
        assert_eq!(lc.flush.interval_ms, None);
        assert_eq!(lc.timestamp_type, TimestampType::LogAppendTime);
    }
}
