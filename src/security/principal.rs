//! The principal of a TLS client certificate, as Kafka's
//! `DefaultKafkaPrincipalBuilder` builds it: the subject's distinguished name
//! in RFC 2253 form (`CN=alice,OU=eng,O=acme,C=US`, as Java's
//! `X500Principal.getName()`), mapped by `ssl.principal.mapping.rules`
//! (Kafka's `SslPrincipalMapper`: `DEFAULT` and `RULE:pattern/replacement/[LU]`).

use regex::Regex;

/// One mapping rule.
#[derive(Debug, Clone)]
enum Rule {
    Default,
    Rule {
        pattern: Regex,
        replacement: String,
        case: Option<char>,
    },
}

/// `ssl.principal.mapping.rules`, parsed.
#[derive(Debug, Clone)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
    text: String,
}

/// Java's `$1` group references as the regex crate's `${1}`.
fn java_replacement(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if n == '$' {
                        out.push_str("$$");
                    } else {
                        out.push(n);
                    }
                }
            }
            '$' => {
                let mut num = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    num.push(*d);
                    chars.next();
                }
                if num.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{num}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Read up to an unescaped `/`; returns (text, rest after the slash).
fn until_slash(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            out.push('\\');
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '/' {
            return Some((out, &s[i + 1..]));
        } else {
            out.push(c);
        }
    }
    None
}

impl PrincipalMapper {
    pub fn parse(text: &str) -> Result<PrincipalMapper, String> {
        let bad = || format!("Invalid rule: {text}");
        let mut rules = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            if rest.is_empty() {
                break;
            }
            if let Some(r) = rest.strip_prefix("DEFAULT") {
                rules.push(Rule::Default);
                rest = r;
            } else if let Some(r) = rest.strip_prefix("RULE:") {
                let (pattern, r) = until_slash(r).ok_or_else(bad)?;
                let (replacement, r) = until_slash(r).ok_or_else(bad)?;
                let (case, r) = match r.chars().next() {
                    Some(c @ ('L' | 'U')) => (Some(c), &r[1..]),
                    _ => (None, r),
                };
                let pattern = Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| format!("{}: {e}", bad()))?;
                rules.push(Rule::Rule {
                    pattern,
                    replacement: java_replacement(&replacement.replace("\\/", "/")),
                    case,
                });
                rest = r;
            } else {
                return Err(bad());
            }
            rest = rest.trim_start();
            if !rest.is_empty() && !rest.starts_with(',') {
                return Err(bad());
            }
        }
        if rules.is_empty() {
            rules.push(Rule::Default);
        }
        Ok(PrincipalMapper {
            rules,
            text: text.to_string(),
        })
    }

    /// The principal name for a distinguished name; an error when no rule applies.
    pub fn map(&self, dn: &str) -> Result<String, String> {
        for rule in &self.rules {
            match rule {
                Rule::Default => return Ok(dn.to_string()),
                Rule::Rule {
                    pattern,
                    replacement,
                    case,
                } => {
                    if pattern.is_match(dn) {
                        let out = pattern.replace_all(dn, replacement.as_str()).into_owned();
                        return Ok(match case {
                            Some('L') => out.to_lowercase(),
                            Some('U') => out.to_uppercase(),
                            _ => out,
                        });
                    }
                }
            }
        }
        Err(format!("No rules apply to {dn}, rules {}", self.text))
    }
}

/// The short names Java's RFC 2253 output uses; other attributes are written as
/// their OID with the `#`-hex of the value's DER.
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn escape_rfc2253(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// The subject DN of a DER certificate in RFC 2253 form (most specific RDN first).
pub fn subject_dn(cert_der: &[u8]) -> Result<String, String> {
    use x509_parser::prelude::*;
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| format!("bad client certificate: {e}"))?;
    let mut rdns = Vec::new();
    for rdn in cert.subject().iter() {
        let mut parts = Vec::new();
        for attr in rdn.iter() {
            let oid = attr.attr_type().to_id_string();
            let value = attr.attr_value();
            let text = match (short_name(&oid), attr.as_str()) {
                (Some(name), Ok(s)) => format!("{name}={}", escape_rfc2253(s)),
                _ => {
                    let mut der = vec![value.header.tag().0 as u8];
                    der_len(value.data.len(), &mut der);
                    der.extend_from_slice(value.data);
                    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{oid}=#{hex}")
                }
            };
            parts.push(text);
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rule_is_the_full_dn() {
        let m = PrincipalMapper::parse("DEFAULT").unwrap();
        assert_eq!(m.map("CN=alice,OU=eng").unwrap(), "CN=alice,OU=eng");
    }

    #[test]
    fn kafka_rules_map_in_order_with_case() {
        let m = PrincipalMapper::parse(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, RULE:^CN=(.*?),OU=(.*?),O=.*$/$1@$2/U,DEFAULT",
        )
        .unwrap();
        assert_eq!(m.map("CN=Kafka,OU=ServiceUsers,O=x").unwrap(), "kafka");
        assert_eq!(m.map("CN=bob,OU=eng,O=acme").unwrap(), "BOB@ENG");
        assert_eq!(m.map("CN=plain").unwrap(), "CN=plain");
        let m = PrincipalMapper::parse("RULE:^CN=(.*)$/$1/").unwrap();
        assert!(m
            .map("OU=x")
            .unwrap_err()
            .starts_with("No rules apply to OU=x"));
        assert!(PrincipalMapper::parse("BOGUS").is_err());
    }

    #[test]
    fn rfc2253_escapes_specials() {
        assert_eq!(escape_rfc2253("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rfc2253(" #x "), "\\ #x\\ ");
    }
}
