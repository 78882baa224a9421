//! How the tools secure a connection, from Kafka's client property names
//! (`security.protocol`, `ssl.*`, `sasl.*`): a rustls client config (ring provider, PEM
//! truststore and keystore, hostname check on or off) and the SASL mechanism and
//! credentials. librdkafka's names (`sasl.mechanisms`, `sasl.username`, `sasl.password`,
//! `ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`) are accepted too.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

use crate::error::ClientError;
use crate::sasl::Mechanism;

/// SASL mechanism and credentials.
#[derive(Clone)]
pub struct SaslSettings {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

/// How to secure each connection: plaintext, TLS, SASL, or SASL over TLS.
#[derive(Clone, Default)]
pub struct ClientSecurity {
    /// TLS (SSL, SASL_SSL).
    pub tls: Option<Arc<ClientConfig>>,
    /// SASL (SASL_PLAINTEXT, SASL_SSL).
    pub sasl: Option<SaslSettings>,
}

impl std::fmt::Debug for ClientSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "{}", self.protocol_name())?;
        if let Some(s) = &self.sasl {
            write!(f, " {} user {}", s.mechanism.name(), s.username)?;
        }
        Ok(())
    }
}

fn usage(msg: String) -> ClientError {
    ClientError::Usage(msg)
}

impl ClientSecurity {
    /// Plaintext, no authentication.
    pub fn plaintext() -> ClientSecurity {
        ClientSecurity::default()
    }

    /// Kafka's `security.protocol` name of this setting.
    pub fn protocol_name(&self) -> &'static str {
        match (self.tls.is_some(), self.sasl.is_some()) {
            (false, false) => "PLAINTEXT",
            (true, false) => "SSL",
            (false, true) => "SASL_PLAINTEXT",
            (true, true) => "SASL_SSL",
        }
    }

    /// Builds from client properties; `get` looks one up by name. Reads the PEM files.
    pub fn from_properties(raw: &dyn Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let get = |k: &str| raw(k).filter(|v| !v.trim().is_empty());
        let protocol = get("security.protocol").unwrap_or_else(|| "PLAINTEXT".into());
        let (tls, sasl) = match protocol.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (true, false),
            "SASL_PLAINTEXT" => (false, true),
            "SASL_SSL" => (true, true),
            _ => {
                return Err(usage(format!(
                "security.protocol={protocol}: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            )))
            }
        };
        let tls = if tls {
            Some(Arc::new(tls_config(&get, raw)?))
        } else {
            None
        };
        let sasl = if sasl {
            Some(sasl_settings(&get)?)
        } else {
            None
        };
        Ok(ClientSecurity { tls, sasl })
    }
}

fn sasl_settings(get: &dyn Fn(&str) -> Option<String>) -> Result<SaslSettings, ClientError> {
    // Kafka's default mechanism is GSSAPI, which the tools do not speak.
    let name = get("sasl.mechanism")
        .or_else(|| get("sasl.mechanisms"))
        .unwrap_or_else(|| "GSSAPI".into());
    let mechanism = Mechanism::from_name(name.trim()).ok_or_else(|| {
        usage(format!(
            "sasl.mechanism={name}: not supported (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
        ))
    })?;
    let (mut username, mut password) = (get("sasl.username"), get("sasl.password"));
    if let Some(jaas) = get("sasl.jaas.config") {
        let opts = jaas_options(&jaas).map_err(|e| usage(format!("sasl.jaas.config: {e}")))?;
        for (k, v) in opts {
            match k.as_str() {
                "username" => username = Some(v),
                "password" => password = Some(v),
                _ => {}
            }
        }
    }
    match (username, password) {
        (Some(username), Some(password)) => Ok(SaslSettings {
            mechanism,
            username,
            password,
        }),
        _ => Err(usage(format!(
            "SASL {}: set sasl.jaas.config with username=\"...\" password=\"...\" (or sasl.username and sasl.password)",
            mechanism.name()
        ))),
    }
}

/// The options of a JAAS login module line:
/// `org.apache...PlainLoginModule required username="alice" password="secret";`.
fn jaas_options(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut chars = s.trim().chars().peekable();
    let mut word = || {
        let mut w = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '=' || c == ';' {
                break;
            }
            w.push(c);
            chars.next();
        }
        w
    };
    let module = word();
    let flag = {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut w = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ';' {
                break;
            }
            w.push(c);
            chars.next();
        }
        w
    };
    if module.is_empty()
        || !matches!(
            flag.as_str(),
            "required" | "requisite" | "sufficient" | "optional"
        )
    {
        return Err("expected '<LoginModule> required key=\"value\" ...;'".into());
    }
    let mut out = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None | Some(';') => break,
            _ => {}
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("expected '=' after {key}"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted value of {key}")),
                    Some('"') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == ';' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
    Ok(out)
}

fn read(what: &str, path: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| usage(format!("{what} {path}: {e}")))
}

fn check_pem_type(get: &dyn Fn(&str) -> Option<String>, key: &str) -> Result<(), ClientError> {
    match get(key) {
        Some(t) if !t.eq_ignore_ascii_case("PEM") => Err(usage(format!(
            "{key}={t}: the tools read PEM only (convert with keytool/openssl)"
        ))),
        _ => Ok(()),
    }
}

/// `get` skips empty values, `raw` does not (an empty endpoint algorithm means something).
fn tls_config(
    get: &dyn Fn(&str) -> Option<String>,
    raw: &dyn Fn(&str) -> Option<String>,
) -> Result<ClientConfig, ClientError> {
    check_pem_type(get, "ssl.truststore.type")?;
    check_pem_type(get, "ssl.keystore.type")?;
    let trust_pem = if let Some(p) = get("ssl.truststore.location") {
        read("ssl.truststore.location", &p)?
    } else if let Some(p) = get("ssl.ca.location") {
        read("ssl.ca.location", &p)?
    } else if let Some(pem) = get("ssl.truststore.certificates") {
        pem.into_bytes()
    } else {
        // Kafka falls back to the JVM's trust store; we take the system bundle.
        const SYSTEM: &str = "/etc/ssl/certs/ca-certificates.crt";
        std::fs::read(SYSTEM).map_err(|_| {
            usage("TLS: set ssl.truststore.location (PEM) or ssl.truststore.certificates".into())
        })?
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&trust_pem) {
        let cert = cert.map_err(|e| usage(format!("ssl truststore: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| usage(format!("ssl truststore: {e}")))?;
    }
    if roots.is_empty() {
        return Err(usage("ssl truststore: no certificate in it".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| usage(format!("ssl truststore: {e}")))?;
    // Kafka: "https" (the default) checks the host name, an empty value does not.
    let check_host = match raw("ssl.endpoint.identification.algorithm") {
        None => true,
        Some(a) if a.trim().is_empty() => false,
        Some(a) if a.trim().eq_ignore_ascii_case("https") => true,
        Some(a) => {
            return Err(usage(format!(
                "ssl.endpoint.identification.algorithm={a}: expected https or empty"
            )))
        }
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| usage(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier { inner, check_host }));
    let keystore = match (
        get("ssl.keystore.location"),
        get("ssl.certificate.location"),
        get("ssl.key.location"),
    ) {
        (Some(p), _, _) => {
            let pem = read("ssl.keystore.location", &p)?;
            Some((pem.clone(), pem))
        }
        (None, Some(c), Some(k)) => Some((
            read("ssl.certificate.location", &c)?,
            read("ssl.key.location", &k)?,
        )),
        _ => None,
    };
    let config = match keystore {
        None => builder.with_no_client_auth(),
        Some((chain_pem, key_pem)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_pem)
                .collect::<Result<_, _>>()
                .map_err(|e| usage(format!("ssl keystore certificate chain: {e}")))?;
            if chain.is_empty() {
                return Err(usage("ssl keystore: no certificate in it".into()));
            }
            let key = match encrypted_key_der(&key_pem)? {
                Some(der) => decrypt_key(&der, get("ssl.key.password").as_deref())?,
                None => PrivateKeyDer::from_pem_slice(&key_pem)
                    .map_err(|e| usage(format!("ssl keystore private key: {e}")))?,
            };
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| usage(format!("ssl keystore: {e}")))?
        }
    };
    Ok(config)
}

/// The DER of an `ENCRYPTED PRIVATE KEY` PEM block, if there is one.
fn encrypted_key_der(pem: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    const BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let Some(start) = text.find(BEGIN) else {
        return Ok(None);
    };
    let body = &text[start + BEGIN.len()..];
    let end = body
        .find(END)
        .ok_or_else(|| usage("ssl keystore: unterminated ENCRYPTED PRIVATE KEY".into()))?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(Some)
        .map_err(|e| usage(format!("ssl keystore: encrypted key: {e}")))
}

/// Decrypts a PKCS#8 `EncryptedPrivateKeyInfo` (PBES2) with `ssl.key.password`.
fn decrypt_key(der: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, ClientError> {
    let password = password.ok_or_else(|| {
        usage("ssl keystore: the private key is encrypted: set ssl.key.password".into())
    })?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der)
        .map_err(|e| usage(format!("ssl keystore: encrypted key: {e}")))?;
    let doc = info.decrypt(password).map_err(|_| {
        usage("ssl keystore: cannot decrypt the private key with ssl.key.password".into())
    })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        doc.as_bytes().to_vec(),
    )))
}

/// WebPKI chain verification, with the host name check optional
/// (`ssl.endpoint.identification.algorithm=`).
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    check_host: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_host => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn jaas_lines_of_kafkas_login_modules() {
        let o = jaas_options(
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a \"q\" b";"#,
        )
        .unwrap();
        assert_eq!(
            o,
            vec![
                ("username".to_string(), "alice".to_string()),
                ("password".to_string(), "a \"q\" b".to_string())
            ]
        );
        assert!(jaas_options(r#"username="x""#).is_err());
        assert!(jaas_options(r#"M required username="x"#).is_err());
    }

    #[test]
    fn sasl_plaintext_from_kafka_and_librdkafka_names() {
        let p = props(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="pw";"#,
            ),
        ]);
        let s = ClientSecurity::from_properties(&p).unwrap();
        assert_eq!(s.protocol_name(), "SASL_PLAINTEXT");
        let sasl = s.sasl.unwrap();
        assert_eq!(sasl.mechanism, Mechanism::ScramSha512);
        assert_eq!(
            (sasl.username.as_str(), sasl.password.as_str()),
            ("alice", "pw")
        );

        let p = props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "bob"),
            ("sasl.password", "x"),
        ]);
        let s = ClientSecurity::from_properties(&p).unwrap();
        assert_eq!(s.sasl.unwrap().mechanism, Mechanism::Plain);
    }

    #[test]
    fn bad_settings_are_usage_errors() {
        for pairs in [
            &[("security.protocol", "TLS")][..],
            &[("security.protocol", "SASL_PLAINTEXT")][..],
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "OAUTHBEARER"),
            ][..],
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
            ][..],
            &[
                ("security.protocol", "SSL"),
                ("ssl.truststore.location", "/nonexistent/ca.pem"),
            ][..],
            &[("security.protocol", "SSL"), ("ssl.truststore.type", "JKS")][..],
        ] {
            let e = ClientSecurity::from_properties(&props(pairs)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{pairs:?}: {e}");
        }
        let plain = ClientSecurity::from_properties(&props(&[])).unwrap();
        assert_eq!(plain.protocol_name(), "PLAINTEXT");
    }
}
