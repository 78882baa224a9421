//! Quota entities and keys as Kafka's `ClientQuotaControlManager` validates them
//! and `ClientQuotasImage.describe` matches them: an entity is a set of
//! (type, name) components (`user`, `client-id`, or `ip` alone), a name `None`
//! is the type's default (`<default>` in `kafka-configs`). Pure data and rules;
//! no I/O.

use std::collections::BTreeMap;
use std::fmt;

pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";
pub const IP: &str = "ip";

/// The quota keys of user and client-id entities, with their config types.
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
pub const REQUEST_PERCENTAGE: &str = "request_percentage";
pub const CONTROLLER_MUTATION_RATE: &str = "controller_mutation_rate";
/// The quota key of ip entities (stored and described; the connection
/// limits enforce it).
pub const CONNECTION_CREATION_RATE: &str = "connection_creation_rate";

/// A quota key's type, as in Kafka's `QuotaConfig` config defs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Long,
    Int,
    Double,
}

fn key_type(entity: &Entity, key: &str) -> Option<KeyType> {
    if entity.has(IP) {
        return (key == CONNECTION_CREATION_RATE).then_some(KeyType::Int);
    }
    match key {
        PRODUCER_BYTE_RATE | CONSUMER_BYTE_RATE => Some(KeyType::Long),
        REQUEST_PERCENTAGE | CONTROLLER_MUTATION_RATE => Some(KeyType::Double),
        _ => None,
    }
}

/// One entity: entity type -> name (`None` = the default entity of that type).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Entity(pub BTreeMap<String, Option<String>>);

impl Entity {
    pub fn has(&self, entity_type: &str) -> bool {
        self.0.contains_key(entity_type)
    }

    /// `{user: <user>}` style entity from (type, name) pairs.
    pub fn of(parts: &[(&str, Option<&str>)]) -> Entity {
        Entity(
            parts
                .iter()
                .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
                .collect(),
        )
    }
}

impl fmt::Display for Entity {
    /// As Java's `ClientQuotaEntity.toString`: `ClientQuotaEntity(entries={user=alice})`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientQuotaEntity(entries={")?;
        for (i, (t, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t}={}", n.as_deref().unwrap_or("null"))?;
        }
        f.write_str("})")
    }
}

/// A request-level or entity-level refusal: INVALID_REQUEST (or, for an
/// unsupported entity type in a filter, UNSUPPORTED_VERSION) with Kafka's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    UnsupportedVersion(String),
    /// The change could not be persisted.
    #[error("{0}")]
    Storage(String),
}

fn invalid(msg: impl Into<String>) -> QuotaError {
    QuotaError::InvalidRequest(msg.into())
}

/// Build and check an entity from the request's components
/// (`ClientQuotaControlManager.validateEntity` + `configKeysForEntityType`).
pub fn validate_entity(components: &[(String, Option<String>)]) -> Result<Entity, QuotaError> {
    if components.is_empty() {
        return Err(invalid("Invalid empty client quota entity"));
    }
    let mut entity = Entity::default();
    for (t, n) in components {
        if entity.0.contains_key(t) {
            return Err(invalid(format!(
                "Invalid client quota entity, duplicate entity entry {t}"
            )));
        }
        if t != USER && t != CLIENT_ID && t != IP {
            return Err(invalid(format!("Unhandled client quota entity type: {t}")));
        }
        if n.as_deref() == Some("") {
            return Err(invalid(format!("Empty {t} not supported")));
        }
        entity.0.insert(t.clone(), n.clone());
    }
    if entity.has(IP) {
        if entity.has(USER) || entity.has(CLIENT_ID) {
            return Err(invalid(
                "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId",
            ));
        }
        if let Some(Some(ip)) = entity.0.get(IP) {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(invalid(format!(
                    "{ip} is not a valid IP or resolvable host."
                )));
            }
        }
    }
    Ok(entity)
}

/// Check one quota value (`ClientQuotaControlManager.validateQuotaKeyValue`).
pub fn validate_value(entity: &Entity, key: &str, value: f64) -> Result<(), QuotaError> {
    let Some(ty) = key_type(entity, key) else {
        return Err(invalid(format!("Invalid configuration key {key}")));
    };
    if !value.is_finite() {
        return Err(invalid(format!("Quota {key} must be a finite number")));
    }
    if value <= 0.0 {
        return Err(invalid(format!("Quota {key} must be greater than 0")));
    }
    let integral = |max: f64, name: &str| {
        if value > max {
            Err(invalid(format!(
                "Proposed value for {key} is too large for {name}."
            )))
        } else if (value % 1.0).abs() > 1e-6 {
            Err(invalid(format!("{key} cannot be a fractional value.")))
        } else {
            Ok(())
        }
    };
    match ty {
        KeyType::Double => Ok(()),
        KeyType::Int => integral(i32::MAX as f64, "an INT"),
        KeyType::Long => integral(i64::MAX as f64, "a LONG"),
    }
}

/// How a DescribeClientQuotas filter component matches (`match_type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// This name (`None` = the default entity).
    Exact(Option<String>),
    /// Any entity of this type, default or named.
    Specified,
}

/// A checked DescribeClientQuotas filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    components: BTreeMap<String, Match>,
    strict: bool,
}

impl Filter {
    /// From the request's (entity type, match type, match) components, with
    /// Kafka's checks and messages (`ClientQuotasImage.describe`).
    pub fn new(
        components: &[(String, i8, Option<String>)],
        strict: bool,
    ) -> Result<Filter, QuotaError> {
        let mut out = BTreeMap::new();
        for (t, match_type, m) in components {
            if t.is_empty() {
                return Err(invalid("Invalid empty entity type."));
            }
            if out.contains_key(t) {
                return Err(invalid(format!(
                    "Entity type {t} cannot appear more than once in the filter."
                )));
            }
            if t != IP && t != USER && t != CLIENT_ID {
                return Err(QuotaError::UnsupportedVersion(format!(
                    "Unsupported entity type {t}"
                )));
            }
            let how = match match_type {
                0 => match m {
                    None => {
                        return Err(invalid(
                            "Request specified MATCH_TYPE_EXACT, but set match string to null.",
                        ))
                    }
                    Some(name) => Match::Exact(Some(name.clone())),
                },
                1 => match m {
                    Some(_) => {
                        return Err(invalid(
                            "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.",
                        ))
                    }
                    None => Match::Exact(None),
                },
                2 => match m {
                    Some(_) => {
                        return Err(invalid(
                            "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.",
                        ))
                    }
                    None => Match::Specified,
                },
                other => return Err(invalid(format!("Unknown match type {other}"))),
            };
            out.insert(t.clone(), how);
        }
        if out.contains_key(IP) && (out.contains_key(USER) || out.contains_key(CLIENT_ID)) {
            return Err(invalid(
                "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter",
            ));
        }
        Ok(Filter {
            components: out,
            strict,
        })
    }

    /// Whether `entity` is described: it has every component the filter names
    /// (with the exact name where one is given) and, when strict, no other.
    pub fn matches(&self, entity: &Entity) -> bool {
        if self.components.is_empty() {
            return !self.strict;
        }
        let all = self.components.iter().all(|(t, how)| match how {
            Match::Exact(name) => entity.0.get(t) == Some(name),
            Match::Specified => entity.has(t),
        });
        all && (!self.strict || entity.0.len() == self.components.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(parts: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        parts
            .iter()
            .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
            .collect()
    }

    #[test]
    fn entities_are_checked_with_kafkas_messages() {
        let err = |c: &[(&str, Option<&str>)]| validate_entity(&comps(c)).unwrap_err().to_string();
        assert_eq!(err(&[]), "Invalid empty client quota entity");
        assert_eq!(
            err(&[("user", Some("a")), ("user", Some("b"))]),
            "Invalid client quota entity, duplicate entity entry user"
        );
        assert_eq!(
            err(&[("group", Some("a"))]),
            "Unhandled client quota entity type: group"
        );
        assert_eq!(err(&[("user", Some(""))]), "Empty user not supported");
        assert!(err(&[("ip", Some("1.2.3.4")), ("user", None)])
            .starts_with("Invalid quota entity combination"));
        assert!(validate_entity(&comps(&[("user", None), ("client-id", Some("c"))])).is_ok());
    }

    #[test]
    fn values_are_checked_by_key_type() {
        let user = Entity::of(&[("user", Some("u"))]);
        let ip = Entity::of(&[("ip", None)]);
        let err = |e: &Entity, k: &str, v: f64| validate_value(e, k, v).unwrap_err().to_string();
        assert_eq!(err(&user, "bogus", 1.0), "Invalid configuration key bogus");
        assert_eq!(
            err(&user, PRODUCER_BYTE_RATE, 0.0),
            "Quota producer_byte_rate must be greater than 0"
        );
        assert_eq!(
            err(&user, PRODUCER_BYTE_RATE, 1.5),
            "producer_byte_rate cannot be a fractional value."
        );
        assert_eq!(
            err(&user, CONSUMER_BYTE_RATE, f64::INFINITY),
            "Quota consumer_byte_rate must be a finite number"
        );
        assert!(validate_value(&user, REQUEST_PERCENTAGE, 12.5).is_ok());
        assert_eq!(
            err(&ip, PRODUCER_BYTE_RATE, 10.0),
            "Invalid configuration key producer_byte_rate"
        );
        assert_eq!(
            err(&ip, CONNECTION_CREATION_RATE, 3e9),
            "Proposed value for connection_creation_rate is too large for an INT."
        );
    }

    #[test]
    fn filters_match_exact_default_and_specified_names() {
        let alice = Entity::of(&[("user", Some("alice"))]);
        let alice_c = Entity::of(&[("user", Some("alice")), ("client-id", Some("c"))]);
        let default_user = Entity::of(&[("user", None)]);
        let f = |c: &[(&str, i8, Option<&str>)], strict| {
            Filter::new(
                &c.iter()
                    .map(|(t, m, n)| (t.to_string(), *m, n.map(str::to_string)))
                    .collect::<Vec<_>>(),
                strict,
            )
            .unwrap()
        };
        let exact = f(&[("user", 0, Some("alice"))], false);
        assert!(exact.matches(&alice) && exact.matches(&alice_c) && !exact.matches(&default_user));
        let exact_strict = f(&[("user", 0, Some("alice"))], true);
        assert!(exact_strict.matches(&alice) && !exact_strict.matches(&alice_c));
        let default = f(&[("user", 1, None)], false);
        assert!(default.matches(&default_user) && !default.matches(&alice));
        let any = f(&[("user", 2, None)], false);
        assert!(any.matches(&default_user) && any.matches(&alice_c));
        assert!(f(&[], false).matches(&alice) && !f(&[], true).matches(&alice));
        let bad = Filter::new(&[("user".into(), 0, None)], false).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "Request specified MATCH_TYPE_EXACT, but set match string to null."
        );
        assert!(matches!(
            Filter::new(&[("group".into(), 2, None)], false),
            Err(QuotaError::UnsupportedVersion(_))
        ));
    }
}
