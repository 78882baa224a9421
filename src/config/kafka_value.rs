//! Kafka's parsing and checking of one config value (`ConfigDef.parseType`,
//! its validators and `ConfigDef.convertToString`): what a value is accepted
//! as, how it is stored and described, and the exact texts Kafka answers
//! INVALID_CONFIG (or, for broker resources, INVALID_REQUEST) with, e.g.
//! `Invalid value x for configuration retention.ms: Not a number of type LONG`.

/// How Kafka checks a value once it is parsed by type (`ConfigDef.Validator`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validator {
    None,
    /// `Range.atLeast`.
    AtLeast(i64),
    /// `Range.between` (inclusive).
    Between(i64, i64),
    /// `ValidString.in`.
    OneOf(&'static [&'static str]),
    /// `ValidList.in`: no empty items; repeated ones are dropped.
    ListOf(&'static [&'static str]),
    /// `GzipCompression`'s level validator: 1..=9 or -1.
    GzipLevel,
    /// `ThrottledReplicaListValidator`: `*` or `partition:broker` items.
    ThrottledReplicas,
    /// Kafka 3.x's `message.format.version` (a metadata version string).
    Version,
}

/// One topic config key (the table is [`super::kafka_topic_keys`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopicKeyDef {
    pub name: &'static str,
    /// The broker setting that provides the default (`None`: Kafka's own default).
    pub broker_key: Option<&'static str>,
    /// DescribeConfigs `config_type` (1 boolean, 2 string, 3 int, 5 long, 6 double, 7 list).
    pub config_type: i8,
    /// Kafka's default, as DescribeConfigs renders it.
    pub default: &'static str,
    pub validator: Validator,
    pub documentation: &'static str,
}

/// DescribeConfigs `config_type` values (`ConfigEntry.ConfigType` ids).
pub mod types {
    pub const BOOLEAN: i8 = 1;
    pub const STRING: i8 = 2;
    pub const INT: i8 = 3;
    pub const SHORT: i8 = 4;
    pub const LONG: i8 = 5;
    pub const DOUBLE: i8 = 6;
    pub const LIST: i8 = 7;
    pub const CLASS: i8 = 8;
    pub const PASSWORD: i8 = 9;
}
use types::*;

/// A value Kafka refuses, with Kafka's message.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// `ConfigException(name, value, reason)`; `value` as Kafka renders it.
    #[error("Invalid value {value} for configuration {key}: {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
    /// `ConfigException(message)`.
    #[error("{0}")]
    Rejected(String),
}

fn bad(key: &str, value: impl Into<String>, reason: impl Into<String>) -> ValueError {
    ValueError::BadValue {
        key: key.to_string(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// A parsed value, as `ConfigDef.parseType` returns it.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    List(Vec<String>),
}

impl Parsed {
    /// `ConfigDef.convertToString` (Java's rendering of the parsed value).
    fn render(&self) -> String {
        match self {
            Parsed::Bool(b) => b.to_string(),
            Parsed::Int(v) => v.to_string(),
            Parsed::Double(v) => java_double(*v),
            Parsed::Str(s) => s.clone(),
            Parsed::List(items) => items.join(","),
        }
    }

    /// `String.valueOf(parsed)` as it appears in an error message (a list
    /// renders as Java's `[a, b]`).
    fn shown(&self) -> String {
        match self {
            Parsed::List(items) => format!("[{}]", items.join(", ")),
            other => other.render(),
        }
    }
}

/// Java's `Double.toString`: `0.5`, `2.0`, `1.0E-4`, `1.7976931348623157E308`.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:E}");
        let (mantissa, exp) = s.split_once('E').expect("E format");
        if mantissa.contains('.') {
            format!("{mantissa}E{exp}")
        } else {
            format!("{mantissa}.0E{exp}")
        }
    }
}

/// `ConfigDef.parseType` then the key's validator: the value as Kafka stores
/// and describes it, or Kafka's error.
pub fn check(
    key: &str,
    raw: &str,
    config_type: i8,
    validator: Validator,
) -> Result<String, ValueError> {
    let mut parsed = parse_type(key, raw, config_type)?;
    if let (Validator::ListOf(_), Parsed::List(items)) = (validator, &mut parsed) {
        // Kafka 4.x drops repeated items of a `ValidList` (first one kept).
        let mut seen = std::collections::HashSet::new();
        items.retain(|i| i.is_empty() || seen.insert(i.clone()));
    }
    validate(key, &parsed, validator)?;
    Ok(parsed.render())
}

fn parse_type(key: &str, raw: &str, config_type: i8) -> Result<Parsed, ValueError> {
    let trimmed = raw.trim();
    let number = |name: &str| bad(key, raw, format!("Not a number of type {name}"));
    Ok(match config_type {
        BOOLEAN => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Parsed::Bool(true),
            "false" => Parsed::Bool(false),
            _ => return Err(bad(key, raw, "Expected value to be either true or false")),
        },
        SHORT => Parsed::Int(trimmed.parse::<i16>().map_err(|_| number("SHORT"))? as i64),
        INT => Parsed::Int(trimmed.parse::<i32>().map_err(|_| number("INT"))? as i64),
        LONG => Parsed::Int(trimmed.parse::<i64>().map_err(|_| number("LONG"))?),
        DOUBLE => Parsed::Double(parse_java_double(trimmed).ok_or_else(|| number("DOUBLE"))?),
        LIST if trimmed.is_empty() => Parsed::List(Vec::new()),
        // `COMMA_WITH_WHITESPACE.split(trimmed, -1)`: empty items are kept.
        LIST => Parsed::List(trimmed.split(',').map(|s| s.trim().to_string()).collect()),
        _ => Parsed::Str(trimmed.to_string()),
    })
}

/// `Double.parseDouble` for the forms clients send (Rust's grammar, plus
/// Java's `d`/`f` suffixes; no hexadecimal floats).
fn parse_java_double(s: &str) -> Option<f64> {
    let s = s
        .strip_suffix(['d', 'D', 'f', 'F'])
        .filter(|r| !r.is_empty())
        .unwrap_or(s);
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if s
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => s.parse().ok(),
    }
}

fn validate(key: &str, v: &Parsed, validator: Validator) -> Result<(), ValueError> {
    match validator {
        Validator::None => Ok(()),
        Validator::AtLeast(min) => range(key, v, Some(min), None),
        Validator::Between(min, max) => range(key, v, Some(min), Some(max)),
        Validator::GzipLevel => match v {
            Parsed::Int(l) if (1..=9).contains(l) || *l == -1 => Ok(()),
            _ => Err(bad(
                key,
                v.shown(),
                "Value must be between 1 and 9 or equal to -1",
            )),
        },
        Validator::OneOf(allowed) => match v {
            Parsed::Str(s) if !allowed.contains(&s.as_str()) => Err(bad(
                key,
                s.clone(),
                format!("String must be one of: {}", allowed.join(", ")),
            )),
            _ => Ok(()),
        },
        Validator::ListOf(allowed) => {
            let Parsed::List(items) = v else {
                return Ok(());
            };
            for item in items {
                if item.is_empty() {
                    return Err(ValueError::Rejected(format!(
                        "Configuration '{key}' values must not be empty."
                    )));
                }
                if !allowed.contains(&item.as_str()) {
                    return Err(bad(
                        key,
                        item.clone(),
                        format!("String must be one of: {}", allowed.join(", ")),
                    ));
                }
            }
            Ok(())
        }
        Validator::ThrottledReplicas => {
            let Parsed::List(items) = v else {
                return Ok(());
            };
            let replica = |s: &str| {
                s.is_empty()
                    || s.split_once(':').is_some_and(|(p, b)| {
                        !p.is_empty()
                            && !b.is_empty()
                            && p.bytes().all(|c| c.is_ascii_digit())
                            && b.bytes().all(|c| c.is_ascii_digit())
                    })
            };
            if items.iter().all(|i| replica(i.trim())) || items.concat() == "*" {
                Ok(())
            } else {
                Err(bad(
                    key,
                    v.shown(),
                    format!(
                        "{key} must be the literal '*' or a list of replicas in the following \
                         format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
                    ),
                ))
            }
        }
        Validator::Version => match v {
            Parsed::Str(s) if is_kafka_version(s) => Ok(()),
            _ => Err(bad(
                key,
                v.shown(),
                format!("Version {} is not a valid version", v.shown()),
            )),
        },
    }
}

/// `Range.ensureValid`: Kafka's texts, with the bounds as declared.
fn range(key: &str, v: &Parsed, min: Option<i64>, max: Option<i64>) -> Result<(), ValueError> {
    let n = match v {
        Parsed::Int(n) => *n as f64,
        Parsed::Double(d) => *d,
        _ => return Ok(()),
    };
    // Exact for integers (an i64 compare), numeric for doubles.
    let below = |m: i64| match v {
        Parsed::Int(i) => *i < m,
        _ => n < m as f64,
    };
    let above = |m: i64| match v {
        Parsed::Int(i) => *i > m,
        _ => n > m as f64,
    };
    if let Some(m) = min.filter(|m| below(*m)) {
        return Err(bad(key, v.shown(), format!("Value must be at least {m}")));
    }
    if let Some(m) = max.filter(|m| above(*m)) {
        return Err(bad(
            key,
            v.shown(),
            format!("Value must be no more than {m}"),
        ));
    }
    Ok(())
}

/// A Kafka release or metadata version string (`0.10.0`, `2.8`, `3.0-IV1`).
fn is_kafka_version(s: &str) -> bool {
    let (release, iv) = match s.split_once("-IV") {
        Some((r, iv)) => (r, Some(iv)),
        None => (s, None),
    };
    let parts: Vec<&str> = release.split('.').collect();
    (2..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
        && iv.is_none_or(|iv| !iv.is_empty() && iv.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(key: &str, raw: &str, t: i8, v: Validator) -> String {
        check(key, raw, t, v).unwrap_err().to_string()
    }

    #[test]
    fn texts_are_kafkas_per_type() {
        // Each as a Kafka 4.4 broker answered it.
        assert_eq!(
            msg("retention.ms", "not-a-number", LONG, Validator::AtLeast(-1)),
            "Invalid value not-a-number for configuration retention.ms: Not a number of type LONG"
        );
        assert_eq!(
            msg("index.interval.bytes", "99999999999", INT, Validator::AtLeast(0)),
            "Invalid value 99999999999 for configuration index.interval.bytes: Not a number of type INT"
        );
        assert_eq!(
            msg("min.cleanable.dirty.ratio", "2", DOUBLE, Validator::Between(0, 1)),
            "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"
        );
        assert_eq!(
            msg("min.cleanable.dirty.ratio", "-1", DOUBLE, Validator::Between(0, 1)),
            "Invalid value -1.0 for configuration min.cleanable.dirty.ratio: Value must be at least 0"
        );
        assert_eq!(
            msg("preallocate", "maybe", BOOLEAN, Validator::None),
            "Invalid value maybe for configuration preallocate: Expected value to be either true or false"
        );
        let policies = Validator::ListOf(&["compact", "delete"]);
        assert_eq!(
            msg("cleanup.policy", "compact,shred", LIST, policies),
            "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"
        );
        assert_eq!(
            msg("cleanup.policy", "compact,", LIST, policies),
            "Configuration 'cleanup.policy' values must not be empty."
        );
        assert_eq!(
            msg("compression.gzip.level", "10", INT, Validator::GzipLevel),
            "Invalid value 10 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1"
        );
        assert_eq!(
            msg(
                "leader.replication.throttled.replicas",
                "0:1, *",
                LIST,
                Validator::ThrottledReplicas
            ),
            "Invalid value [0:1, *] for configuration leader.replication.throttled.replicas: \
             leader.replication.throttled.replicas must be the literal '*' or a list of replicas \
             in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
        );
    }

    #[test]
    fn values_are_stored_as_kafka_renders_them() {
        let policies = Validator::ListOf(&["compact", "delete"]);
        assert_eq!(
            check("c", " compact , delete ", LIST, policies).unwrap(),
            "compact,delete"
        );
        assert_eq!(check("c", "", LIST, policies).unwrap(), "");
        assert_eq!(
            check("c", "delete,compact,delete", LIST, policies).unwrap(),
            "delete,compact"
        );
        assert_eq!(check("r", "0.50", DOUBLE, Validator::None).unwrap(), "0.5");
        assert_eq!(
            check("r", "1e-4", DOUBLE, Validator::None).unwrap(),
            "1.0E-4"
        );
        assert_eq!(
            check("p", "TRUE", BOOLEAN, Validator::None).unwrap(),
            "true"
        );
        assert_eq!(check("l", "+5", LONG, Validator::None).unwrap(), "5");
        assert_eq!(
            check("t", "0:1, 1:1", LIST, Validator::ThrottledReplicas).unwrap(),
            "0:1,1:1"
        );
        assert_eq!(
            check("t", "*", LIST, Validator::ThrottledReplicas).unwrap(),
            "*"
        );
        assert_eq!(
            java_double(1.7976931348623157E308),
            "1.7976931348623157E308"
        );
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(2.0), "2.0");
    }
}
