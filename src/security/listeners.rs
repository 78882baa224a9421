//! Kafka's listener configuration: `listeners`, `advertised.listeners` and
//! `listener.security.protocol.map` (or the `--listen`/`--advertise` shorthand
//! for one PLAINTEXT listener) -> the list of [`ListenerSpec`]s the server binds.

use crate::config::Settings;
use std::fmt;

/// Kafka's `SecurityProtocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn parse(s: &str) -> Option<SecurityProtocol> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" => SecurityProtocol::SaslSsl,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether the transport is TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether clients authenticate with SASL.
    pub fn is_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One listener to bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    /// The listener name (upper case, as Kafka normalises it), e.g. `SASL_SSL` or `INTERNAL`.
    pub name: String,
    pub protocol: SecurityProtocol,
    /// `HOST:PORT` to bind (an empty host binds every interface).
    pub bind: String,
    /// `(host, port)` clients are told to connect to; `None` = the bind host with
    /// the bound port. A port of 0 means the bound port.
    pub advertised: Option<(String, u16)>,
}

/// A bad listener configuration (one line at start-up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenerError {
    #[error("bad listener '{0}': expected NAME://HOST:PORT")]
    Syntax(String),
    #[error("listener name '{0}' appears twice in {1}")]
    Duplicate(String, &'static str),
    #[error("listener '{0}' has no security protocol in listener.security.protocol.map")]
    NoProtocol(String),
    #[error("bad listener.security.protocol.map entry '{0}'")]
    BadMap(String),
    #[error("advertised listener '{0}' is not one of the listeners")]
    NotAListener(String),
    #[error("no listeners")]
    Empty,
}

/// Split `HOST:PORT` (host may be `[v6]` or empty).
pub fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (h, p) = s.rsplit_once(':')?;
    let h = h.trim_start_matches('[').trim_end_matches(']');
    Some((h.to_string(), p.trim().parse().ok()?))
}

/// `NAME://HOST:PORT,...` -> (NAME, HOST:PORT) pairs.
fn parse_list(list: &str, what: &'static str) -> Result<Vec<(String, String)>, ListenerError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, addr) = item
            .split_once("://")
            .ok_or_else(|| ListenerError::Syntax(item.into()))?;
        let name = name.trim().to_ascii_uppercase();
        if name.is_empty() || split_host_port(addr).is_none() {
            return Err(ListenerError::Syntax(item.into()));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(ListenerError::Duplicate(name, what));
        }
        out.push((name, addr.to_string()));
    }
    Ok(out)
}

/// `listener.security.protocol.map`: listener name -> protocol.
fn protocol_map(map: &str) -> Result<Vec<(String, SecurityProtocol)>, ListenerError> {
    map.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (name, proto) = entry
                .split_once(':')
                .ok_or_else(|| ListenerError::BadMap(entry.into()))?;
            let proto = SecurityProtocol::parse(proto)
                .ok_or_else(|| ListenerError::BadMap(entry.into()))?;
            Ok((name.trim().to_ascii_uppercase(), proto))
        })
        .collect()
}

/// The listeners to bind: Kafka's `listeners` when set, otherwise one
/// PLAINTEXT listener on `listen` (advertised as `advertise`).
pub fn resolve(
    settings: &Settings,
    listen: &str,
    advertise: Option<&str>,
) -> Result<Vec<ListenerSpec>, ListenerError> {
    let listeners = settings.str("listeners");
    if listeners.trim().is_empty() {
        let advertised = match advertise {
            Some(a) => Some(split_host_port(a).ok_or_else(|| ListenerError::Syntax(a.into()))?),
            None => None,
        };
        return Ok(vec![ListenerSpec {
            name: crate::pipeline::PLAINTEXT.to_string(),
            protocol: SecurityProtocol::Plaintext,
            bind: listen.to_string(),
            advertised,
        }]);
    }
    let map = protocol_map(settings.str("listener.security.protocol.map"))?;
    let advertised = parse_list(settings.str("advertised.listeners"), "advertised.listeners")?;
    let mut out = Vec::new();
    for (name, bind) in parse_list(listeners, "listeners")? {
        let protocol = map
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| ListenerError::NoProtocol(name.clone()))?;
        let adv = advertised
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| split_host_port(a).expect("checked by parse_list"));
        out.push(ListenerSpec {
            name,
            protocol,
            bind,
            advertised: adv,
        });
    }
    if let Some((n, _)) = advertised
        .iter()
        .find(|(n, _)| !out.iter().any(|l| l.name == *n))
    {
        return Err(ListenerError::NotAListener(n.clone()));
    }
    if out.is_empty() {
        return Err(ListenerError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut s = Settings::default();
        for (k, v) in pairs {
            s.set(k, v, Source::Cli).unwrap();
        }
        s
    }

    #[test]
    fn listen_flag_is_one_plaintext_listener() {
        let l = resolve(&Settings::default(), "127.0.0.1:9092", Some("kafka:9092")).unwrap();
        assert_eq!(
            l,
            vec![ListenerSpec {
                name: "PLAINTEXT".into(),
                protocol: SecurityProtocol::Plaintext,
                bind: "127.0.0.1:9092".into(),
                advertised: Some(("kafka".into(), 9092)),
            }]
        );
    }

    #[test]
    fn kafka_listeners_with_map_and_advertised() {
        let s = settings(&[
            (
                "listeners",
                "PLAINTEXT://127.0.0.1:9092,internal://:9093,SASL_SSL://[::1]:9094",
            ),
            (
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            ),
            ("advertised.listeners", "INTERNAL://broker.internal:19093"),
        ]);
        let l = resolve(&s, "ignored:1", None).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].name, "INTERNAL");
        assert_eq!(l[1].protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(l[1].advertised, Some(("broker.internal".into(), 19093)));
        assert_eq!(l[2].protocol, SecurityProtocol::SaslSsl);
        assert_eq!(l[2].bind, "[::1]:9094");
        assert_eq!(l[0].advertised, None);
    }

    #[test]
    fn bad_listener_configs_are_errors() {
        let s = settings(&[("listeners", "PLAINTEXT://a:1,PLAINTEXT://b:2")]);
        assert!(matches!(
            resolve(&s, "x:1", None),
            Err(ListenerError::Duplicate(..))
        ));
        let s = settings(&[("listeners", "CLIENT://a:1")]);
        assert_eq!(
            resolve(&s, "x:1", None),
            Err(ListenerError::NoProtocol("CLIENT".into()))
        );
        let s = settings(&[("listeners", "PLAINTEXT:/a:1")]);
        assert!(matches!(
            resolve(&s, "x:1", None),
            Err(ListenerError::Syntax(_))
        ));
        let s = settings(&[
            ("listeners", "PLAINTEXT://a:1"),
            ("advertised.listeners", "SSL://b:2"),
        ]);
        assert_eq!(
            resolve(&s, "x:1", None),
            Err(ListenerError::NotAListener("SSL".into()))
        );
    }

    #[test]
    fn listener_overrides_win_over_broker_wide_keys() {
        let s = settings(&[
            ("sasl.enabled.mechanisms", "PLAIN"),
            (
                "listener.name.sasl_ssl.sasl.enabled.mechanisms",
                "SCRAM-SHA-512",
            ),
            (
                "listener.name.SASL_SSL.plain.sasl.jaas.config",
                "x required;",
            ),
        ]);
        assert_eq!(
            s.listener_str("SASL_SSL", "sasl.enabled.mechanisms"),
            "SCRAM-SHA-512"
        );
        assert_eq!(s.listener_str("OTHER", "sasl.enabled.mechanisms"), "PLAIN");
        assert_eq!(
            s.listener_mechanism_str("SASL_SSL", "PLAIN", "sasl.jaas.config"),
            "x required;"
        );
        let mut s = Settings::default();
        assert!(s
            .set("listener.name.x.no.such.key", "1", Source::Cli)
            .is_err());
        assert!(s
            .set("listener.name.x.ssl.client.auth", "sometimes", Source::Cli)
            .is_err());
    }
}
