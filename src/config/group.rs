//! Group configs (Kafka 4.4's `GroupConfig`): the dynamic per-group settings
//! of the GROUP config resource (`kafka-configs --entity-type groups`), their
//! names, types, Kafka's defaults and broker synonyms, and Kafka's checks
//! (`GroupConfig.validate`: known names, `ConfigDef` parsing, then the ranges
//! the broker's `group.*.min/max.*` settings allow), with Kafka's texts.
//! The values persist with the dynamic broker configs
//! ([`super::dynamic::DynamicConfigs::groups`]); the coordinators read them
//! through [`GroupOverrides`].

use super::broker::{Settings, Source};
use super::kafka_broker_keys::kafka_broker_key;
use std::collections::BTreeMap;

/// A group config's `ConfigDef` type and validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// INT with `Range.atLeast(min)`.
    Int(i64),
    /// LONG with `Range.atLeast(min)`.
    Long(i64),
    Bool,
    Str,
    List,
    /// `ShareGroupAutoOffsetResetStrategy.Validator`.
    AutoOffsetReset,
    /// `ValidString.in(read_committed, read_uncommitted)`.
    Isolation,
}

/// One key of Kafka's `GroupConfig.CONFIG_DEF`.
#[derive(Debug, Clone, Copy)]
pub struct GroupKey {
    pub name: &'static str,
    pub kind: GroupKind,
    /// The broker key whose value is the default (`GroupConfig.ALL_GROUP_CONFIG_SYNONYMS`).
    pub broker_synonym: Option<&'static str>,
    /// `GroupConfig`'s own default, when there is no broker synonym.
    pub default: &'static str,
    /// Internal: accepted but never described.
    pub internal: bool,
}

const fn k(
    name: &'static str,
    kind: GroupKind,
    broker_synonym: Option<&'static str>,
    default: &'static str,
    internal: bool,
) -> GroupKey {
    GroupKey {
        name,
        kind,
        broker_synonym,
        default,
        internal,
    }
}

use GroupKind::*;

/// Kafka 4.4's group configs, in the order its DescribeConfigs lists them.
pub const GROUP_KEYS: &[GroupKey] = &[
    k(
        "consumer.session.timeout.ms",
        Int(1),
        Some("group.consumer.session.timeout.ms"),
        "45000",
        false,
    ),
    k(
        "streams.assignor.name",
        Str,
        Some("group.streams.assignors"),
        "",
        false,
    ),
    k(
        "consumer.assignment.interval.ms",
        Int(0),
        Some("group.consumer.assignment.interval.ms"),
        "1000",
        false,
    ),
    k(
        "errors.deadletterqueue.copy.record.enable",
        Bool,
        None,
        "false",
        false,
    ),
    k(
        "share.auto.offset.reset",
        AutoOffsetReset,
        None,
        "latest",
        false,
    ),
    k(
        "streams.rack.aware.assignment.tags",
        List,
        Some("group.streams.rack.aware.assignment.tags"),
        "",
        false,
    ),
    k("share.renew.acknowledge.enable", Bool, None, "true", false),
    k(
        "streams.initial.rebalance.delay.ms",
        Int(0),
        Some("group.streams.initial.rebalance.delay.ms"),
        "3000",
        false,
    ),
    k(
        "share.session.timeout.ms",
        Int(1),
        Some("group.share.session.timeout.ms"),
        "45000",
        false,
    ),
    k(
        "streams.assignment.interval.ms",
        Int(0),
        Some("group.streams.assignment.interval.ms"),
        "1000",
        false,
    ),
    k(
        "share.heartbeat.interval.ms",
        Int(1),
        Some("group.share.heartbeat.interval.ms"),
        "5000",
        false,
    ),
    k(
        "streams.heartbeat.interval.ms",
        Int(1),
        Some("group.streams.heartbeat.interval.ms"),
        "5000",
        false,
    ),
    k(
        "share.delivery.count.limit",
        Int(2),
        Some("group.share.delivery.count.limit"),
        "5",
        false,
    ),
    k("errors.deadletterqueue.topic.name", Str, None, "", false),
    k(
        "consumer.heartbeat.interval.ms",
        Int(1),
        Some("group.consumer.heartbeat.interval.ms"),
        "5000",
        false,
    ),
    k(
        "share.record.lock.duration.ms",
        Int(1000),
        Some("group.share.record.lock.duration.ms"),
        "30000",
        false,
    ),
    k(
        "share.assignment.interval.ms",
        Int(0),
        Some("group.share.assignment.interval.ms"),
        "1000",
        false,
    ),
    k(
        "share.isolation.level",
        Isolation,
        None,
        "read_uncommitted",
        false,
    ),
    k(
        "streams.session.timeout.ms",
        Int(1),
        Some("group.streams.session.timeout.ms"),
        "45000",
        false,
    ),
    k(
        "share.partition.max.record.locks",
        Int(100),
        Some("group.share.partition.max.record.locks"),
        "2000",
        false,
    ),
    k(
        "streams.num.standby.replicas",
        Int(0),
        Some("group.streams.num.standby.replicas"),
        "0",
        false,
    ),
    k("consumer.assignor.offload.enable", Bool, None, "true", true),
    k("share.assignor.offload.enable", Bool, None, "true", true),
    k("streams.assignor.offload.enable", Bool, None, "true", true),
    k(
        "streams.task.offset.interval.ms",
        Int(1),
        None,
        "60000",
        true,
    ),
    k("streams.num.warmup.replicas", Int(0), None, "2", true),
    k(
        "streams.acceptable.recovery.lag",
        Long(0),
        None,
        "10000",
        true,
    ),
];

/// The key named `name`, if Kafka has it.
pub fn group_key(name: &str) -> Option<&'static GroupKey> {
    GROUP_KEYS.iter().find(|k| k.name == name)
}

/// Kafka's refusal of a group config (INVALID_CONFIG with the text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GroupConfigError(pub String);

/// A broker setting as an integer: weir's value when weir has the key, else
/// Kafka's default for it.
pub fn broker_int(settings: &Settings, key: &str) -> i64 {
    broker_value(settings, key).0.trim().parse().unwrap_or(0)
}

/// A broker setting's value and its DescribeConfigs source code (2 dynamic
/// broker, 3 dynamic default, 4 static, 5 default).
pub fn broker_value(settings: &Settings, key: &str) -> (String, i8) {
    match settings.get(key) {
        Some(s) => {
            let source = match s.source {
                Source::Default => 5,
                Source::File | Source::Env | Source::Cli => 4,
                Source::DynamicDefault => 3,
                Source::DynamicBroker => 2,
            };
            (s.raw.clone(), source)
        }
        None => (
            kafka_broker_key(key)
                .and_then(|k| k.default)
                .unwrap_or("")
                .to_string(),
            5,
        ),
    }
}

/// The default of group key `key` on this broker: its broker synonym's
/// value, else `GroupConfig`'s default; with the synonym's name and source.
pub fn default_of(key: &GroupKey, settings: &Settings) -> (&'static str, String, i8) {
    match key.broker_synonym {
        Some(b) => {
            let (v, src) = broker_value(settings, b);
            // `group.streams.assignors` is a list: the first is the default assignor.
            let v = if b == "group.streams.assignors" {
                v.split(',').next().unwrap_or("").trim().to_string()
            } else {
                v
            };
            (b, v, src)
        }
        None => (key.name, key.default.to_string(), 5),
    }
}

/// A parsed `share.auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoOffsetResetStrategy {
    Earliest,
    #[default]
    Latest,
    /// `by_duration:<ISO-8601 duration>`: the first offset at or after now minus this.
    ByDurationMs(i64),
}

impl AutoOffsetResetStrategy {
    /// Parse as Kafka's `ShareGroupAutoOffsetResetStrategy.Validator` accepts.
    pub fn parse(value: &str) -> Option<AutoOffsetResetStrategy> {
        let v = value.trim().to_ascii_lowercase();
        match v.as_str() {
            "earliest" => Some(Self::Earliest),
            "latest" => Some(Self::Latest),
            _ => {
                let d = v.strip_prefix("by_duration:")?;
                iso_duration_ms(d.trim()).map(Self::ByDurationMs)
            }
        }
    }
}

/// Java's `Duration.parse` (`PnDTnHnMn.nS`, case-insensitive), without
/// negative durations (Kafka refuses them): the duration in milliseconds.
fn iso_duration_ms(s: &str) -> Option<i64> {
    let s = s.to_ascii_uppercase();
    let rest = s.strip_prefix('P')?;
    if rest.is_empty() || rest.contains('-') {
        return None;
    }
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return None;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut ms: f64 = 0.0;
    if !days.is_empty() {
        let n = days.strip_suffix('D')?;
        ms += n.parse::<u64>().ok()? as f64 * 86_400_000.0;
    }
    if let Some(mut t) = time {
        for (unit, factor, frac) in [
            ('H', 3_600_000.0, false),
            ('M', 60_000.0, false),
            ('S', 1000.0, true),
        ] {
            if let Some(i) = t.find(unit) {
                let n = &t[..i];
                let v: f64 = if frac {
                    if n.is_empty()
                        || !n
                            .chars()
                            .all(|c| c.is_ascii_digit() || c == '.' || c == '+')
                    {
                        return None;
                    }
                    n.parse().ok()?
                } else {
                    n.parse::<u64>().ok()? as f64
                };
                ms += v * factor;
                t = &t[i + 1..];
            }
        }
        if !t.is_empty() {
            return None;
        }
    }
    Some(ms as i64)
}

/// `ConfigDef.parse` of one value: Kafka's texts for a bad one.
fn parse_value(key: &GroupKey, value: &str) -> Result<(), GroupConfigError> {
    let v = value.trim();
    let bad = |why: &str| {
        GroupConfigError(format!(
            "Invalid value {value} for configuration {}: {why}",
            key.name
        ))
    };
    match key.kind {
        Int(min) | Long(min) => {
            let (n, ty) = match key.kind {
                Int(_) => (v.parse::<i32>().map(i64::from).ok(), "INT"),
                _ => (v.parse::<i64>().ok(), "LONG"),
            };
            let n = n.ok_or_else(|| bad(&format!("Not a number of type {ty}")))?;
            if n < min {
                return Err(bad(&format!("Value must be at least {min}")));
            }
        }
        Bool => {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                return Err(bad("Expected value to be either true or false"));
            }
        }
        Isolation => {
            if v != "read_committed" && v != "read_uncommitted" {
                return Err(bad(
                    "String must be one of: read_committed, read_uncommitted",
                ));
            }
        }
        AutoOffsetReset => {
            if AutoOffsetResetStrategy::parse(v).is_none() {
                return Err(bad(&format!(
                    "Invalid value `{value}` for configuration {}. The value must be either \
                     'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.",
                    key.name
                )));
            }
        }
        Str | List => {}
    }
    Ok(())
}

/// Kafka's `GroupConfig.validate` of a group's whole resulting config set.
pub fn validate(
    configs: &BTreeMap<String, String>,
    settings: &Settings,
) -> Result<(), GroupConfigError> {
    for name in configs.keys() {
        if group_key(name).is_none() {
            return Err(GroupConfigError(format!(
                "Unknown group config name: {name}"
            )));
        }
    }
    for (name, v) in configs {
        parse_value(group_key(name).expect("checked"), v)?;
    }
    let int = |name: &str| configs.get(name).and_then(|v| v.trim().parse::<i64>().ok());
    let b = |key: &str| broker_int(settings, key);
    let ranges: &[(&str, &str, &str)] = &[
        (
            "consumer.heartbeat.interval.ms",
            "group.consumer.min.heartbeat.interval.ms",
            "group.consumer.max.heartbeat.interval.ms",
        ),
        (
            "consumer.session.timeout.ms",
            "group.consumer.min.session.timeout.ms",
            "group.consumer.max.session.timeout.ms",
        ),
        (
            "consumer.assignment.interval.ms",
            "group.consumer.min.assignment.interval.ms",
            "group.consumer.max.assignment.interval.ms",
        ),
        (
            "share.heartbeat.interval.ms",
            "group.share.min.heartbeat.interval.ms",
            "group.share.max.heartbeat.interval.ms",
        ),
        (
            "share.session.timeout.ms",
            "group.share.min.session.timeout.ms",
            "group.share.max.session.timeout.ms",
        ),
        (
            "share.record.lock.duration.ms",
            "group.share.min.record.lock.duration.ms",
            "group.share.max.record.lock.duration.ms",
        ),
        (
            "share.delivery.count.limit",
            "group.share.min.delivery.count.limit",
            "group.share.max.delivery.count.limit",
        ),
        (
            "share.partition.max.record.locks",
            "group.share.min.partition.max.record.locks",
            "group.share.max.partition.max.record.locks",
        ),
        (
            "share.assignment.interval.ms",
            "group.share.min.assignment.interval.ms",
            "group.share.max.assignment.interval.ms",
        ),
        (
            "streams.heartbeat.interval.ms",
            "group.streams.min.heartbeat.interval.ms",
            "group.streams.max.heartbeat.interval.ms",
        ),
        (
            "streams.session.timeout.ms",
            "group.streams.min.session.timeout.ms",
            "group.streams.max.session.timeout.ms",
        ),
    ];
    for (i, (name, min, max)) in ranges.iter().enumerate() {
        if let Some(v) = int(name) {
            let (min, max) = (b(min), b(max));
            if v < min || v > max {
                return Err(GroupConfigError(format!(
                    "{name} must be in the range {min} to {max} inclusive."
                )));
            }
        }
        // Kafka checks the streams max-only keys right after the streams heartbeat/session ranges.
        if i == ranges.len() - 1 {
            if let Some(v) = int("streams.num.standby.replicas") {
                let max = b("group.streams.max.standby.replicas");
                if v > max {
                    return Err(GroupConfigError(format!(
                        "streams.num.standby.replicas must be less than or equal to {max}"
                    )));
                }
            }
            let name = "streams.assignment.interval.ms";
            if let Some(v) = int(name) {
                let min = b("group.streams.min.assignment.interval.ms");
                let max = b("group.streams.max.assignment.interval.ms");
                if v < min || v > max {
                    return Err(GroupConfigError(format!(
                        "{name} must be in the range {min} to {max} inclusive."
                    )));
                }
            }
        }
    }
    if let Some(name) = configs.get("streams.assignor.name") {
        let (assignors, _) = broker_value(settings, "group.streams.assignors");
        let list: Vec<&str> = assignors.split(',').map(str::trim).collect();
        if !list.contains(&name.as_str()) {
            return Err(GroupConfigError(format!(
                "streams.assignor.name '{name}' is not a registered task assignor. Registered \
                 assignors are: [{}].",
                list.join(", ")
            )));
        }
    }
    for (session, session_broker, hb, hb_broker) in [
        (
            "consumer.session.timeout.ms",
            "group.consumer.session.timeout.ms",
            "consumer.heartbeat.interval.ms",
            "group.consumer.heartbeat.interval.ms",
        ),
        (
            "share.session.timeout.ms",
            "group.share.session.timeout.ms",
            "share.heartbeat.interval.ms",
            "group.share.heartbeat.interval.ms",
        ),
        (
            "streams.session.timeout.ms",
            "group.streams.session.timeout.ms",
            "streams.heartbeat.interval.ms",
            "group.streams.heartbeat.interval.ms",
        ),
    ] {
        if configs.contains_key(session) || configs.contains_key(hb) {
            let s = int(session).unwrap_or_else(|| b(session_broker));
            let h = int(hb).unwrap_or_else(|| b(hb_broker));
            if s <= h {
                return Err(GroupConfigError(format!(
                    "{session} must be greater than {hb}"
                )));
            }
        }
    }
    if let Some(t) = configs.get("errors.deadletterqueue.topic.name") {
        if !t.is_empty() && t.starts_with("__") {
            return Err(GroupConfigError(
                "errors.deadletterqueue.topic.name: DLQ topic name must not start with '__'".into(),
            ));
        }
    }
    Ok(())
}

/// A group's effective value of `name`: its override, else the default.
pub fn effective(
    overrides: Option<&BTreeMap<String, String>>,
    name: &str,
    settings: &Settings,
) -> String {
    if let Some(v) = overrides.and_then(|o| o.get(name)) {
        return v.trim().to_string();
    }
    group_key(name)
        .map(|k| default_of(k, settings).1)
        .unwrap_or_default()
}

/// A group's effective value of an integer key.
pub fn effective_int(
    overrides: Option<&BTreeMap<String, String>>,
    name: &str,
    settings: &Settings,
) -> i64 {
    effective(overrides, name, settings).parse().unwrap_or(0)
}

/// The per-group overrides the consumer and streams coordinators consult
/// (session timeout and heartbeat interval; `None` = the broker's setting).
pub trait GroupOverrides: Send + Sync {
    fn group_int(&self, group_id: &str, key: &str) -> Option<i64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(kv: &[(&str, &str)]) -> String {
        validate(&map(kv), &Settings::default()).unwrap_err().0
    }

    #[test]
    fn checks_as_kafka_4_4_with_its_texts() {
        let ok = |kv: &[(&str, &str)]| validate(&map(kv), &Settings::default()).unwrap();
        ok(&[
            ("share.record.lock.duration.ms", "20000"),
            ("share.auto.offset.reset", "earliest"),
        ]);
        ok(&[("share.auto.offset.reset", "by_duration:PT1H")]);
        ok(&[
            ("share.isolation.level", "read_committed"),
            ("streams.num.standby.replicas", "2"),
        ]);
        assert_eq!(
            err(&[("foo.bar", "1")]),
            "Unknown group config name: foo.bar"
        );
        assert_eq!(
            err(&[("share.record.lock.duration.ms", "100")]),
            "Invalid value 100 for configuration share.record.lock.duration.ms: Value must be at least 1000"
        );
        assert_eq!(
            err(&[("share.record.lock.duration.ms", "70000")]),
            "share.record.lock.duration.ms must be in the range 15000 to 60000 inclusive."
        );
        assert_eq!(
            err(&[("share.record.lock.duration.ms", "abc")]),
            "Invalid value abc for configuration share.record.lock.duration.ms: Not a number of type INT"
        );
        assert_eq!(
            err(&[("share.auto.offset.reset", "by_duration:-PT1H")]),
            "Invalid value by_duration:-PT1H for configuration share.auto.offset.reset: Invalid value \
             `by_duration:-PT1H` for configuration share.auto.offset.reset. The value must be either \
             'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'."
        );
        assert_eq!(
            err(&[("share.isolation.level", "x")]),
            "Invalid value x for configuration share.isolation.level: String must be one of: read_committed, read_uncommitted"
        );
        assert_eq!(
            err(&[("share.delivery.count.limit", "11")]),
            "share.delivery.count.limit must be in the range 2 to 10 inclusive."
        );
        assert_eq!(
            err(&[("share.renew.acknowledge.enable", "yes")]),
            "Invalid value yes for configuration share.renew.acknowledge.enable: Expected value to be either true or false"
        );
        assert_eq!(
            err(&[("streams.assignment.interval.ms", "15001")]),
            "streams.assignment.interval.ms must be in the range 0 to 15000 inclusive."
        );
        assert_eq!(
            err(&[("streams.num.standby.replicas", "3")]),
            "streams.num.standby.replicas must be less than or equal to 2"
        );
    }

    #[test]
    fn iso_durations_as_java_parses_them() {
        assert_eq!(iso_duration_ms("PT1H"), Some(3_600_000));
        assert_eq!(
            iso_duration_ms("P1DT2M1.5S"),
            Some(86_400_000 + 120_000 + 1500)
        );
        assert_eq!(iso_duration_ms("pt10s"), Some(10_000));
        assert_eq!(iso_duration_ms("PT"), None);
        assert_eq!(iso_duration_ms("P"), None);
        assert_eq!(iso_duration_ms("1H"), None);
    }
}
