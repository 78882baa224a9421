//! Kafka's JAAS configuration lines (`sasl.jaas.config`):
//! `<LoginModule class> <required|requisite|sufficient|optional> key="value" ... ;`

use std::collections::BTreeMap;

/// One parsed login-module entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasEntry {
    pub login_module: String,
    pub options: BTreeMap<String, String>,
}

/// Parse one JAAS line (the first entry; Kafka allows exactly one per mechanism).
pub fn parse(text: &str) -> Result<JaasEntry, String> {
    let mut chars = text.trim().chars().peekable();
    let mut word = || -> String {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut w = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ';' || c == '=' {
                break;
            }
            w.push(c);
            chars.next();
        }
        w
    };
    let login_module = word();
    let flag = word();
    if login_module.is_empty()
        || !matches!(
            flag.to_ascii_lowercase().as_str(),
            "required" | "requisite" | "sufficient" | "optional"
        )
    {
        // The text itself is not repeated: it may hold passwords.
        return Err(
            "sasl.jaas.config: expected '<LoginModule class> required key=\"value\" ...;'"
                .to_string(),
        );
    }
    let mut options = BTreeMap::new();
    // The rest: key=value pairs up to ';'.
    let rest: String = text
        .trim()
        .split_once(&flag[..])
        .map(|(_, r)| r)
        .unwrap_or_default()
        .to_string();
    let mut it = rest.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        match it.peek() {
            None | Some(';') => break,
            _ => {}
        }
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            it.next();
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.next() != Some('=') {
            return Err(format!("sasl.jaas.config: option {key:?} has no value"));
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let mut value = String::new();
        if it.peek() == Some(&'"') {
            it.next();
            loop {
                match it.next() {
                    None => return Err(format!("sasl.jaas.config: unterminated value of {key:?}")),
                    Some('"') => break,
                    Some('\\') => {
                        if let Some(c) = it.next() {
                            value.push(c);
                        }
                    }
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() || c == ';' {
                    break;
                }
                value.push(c);
                it.next();
            }
        }
        options.insert(key, value);
    }
    Ok(JaasEntry {
        login_module,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_plain_login_module_line() {
        let e = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice secret";"#,
        )
        .unwrap();
        assert_eq!(
            e.login_module,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(e.options["user_alice"], "alice secret");
        assert_eq!(e.options.len(), 4);
        let e =
            parse("x.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=thePrincipal;")
                .unwrap();
        assert_eq!(e.options["unsecuredLoginStringClaim_sub"], "thePrincipal");
        assert!(parse("justaclass;").is_err());
        assert!(parse("M required a=\"open;").is_err());
    }
}
