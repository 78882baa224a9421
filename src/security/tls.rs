//! The TLS side of SSL and SASL_SSL listeners (rustls): Kafka's PEM keystore
//! (`ssl.keystore.location`, or inline `ssl.keystore.key` +
//! `ssl.keystore.certificate.chain`, `ssl.key.password` for an encrypted PKCS#8
//! key), PEM truststore (`ssl.truststore.location` / `ssl.truststore.certificates`),
//! `ssl.client.auth`, `ssl.enabled.protocols`, `ssl.cipher.suites`; and the
//! reload of the key, chain and truststore files when they change (Kafka
//! reloads on a dynamic keystore update; weir watches the files).
//! PKCS12 keystores and truststores (`ssl.keystore.type=PKCS12`,
//! `ssl.keystore.password`, as keytool and openssl write them) are read by
//! the `p12-keystore` crate; a JKS file is refused with the keytool command
//! that converts it.

use crate::config::Settings;
use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

/// A listener's TLS settings, read once from the settings (files are re-read on reload).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    listener: String,
    keystore_location: Option<PathBuf>,
    keystore_type: String,
    keystore_password: String,
    truststore_type: String,
    truststore_password: String,
    keystore_key: String,
    keystore_chain: String,
    key_password: String,
    truststore_location: Option<PathBuf>,
    truststore_certificates: String,
    pub client_auth: ClientAuth,
    protocols: Vec<&'static SupportedProtocolVersion>,
    cipher_suites: Vec<String>,
}

fn opt_path(s: &str) -> Option<PathBuf> {
    (!s.trim().is_empty()).then(|| PathBuf::from(s.trim()))
}

impl TlsSettings {
    /// `sasl`: a SASL_SSL listener, where (as in Kafka) only
    /// `listener.name.<l>.ssl.client.auth` asks for client certificates.
    pub fn from_settings(
        settings: &Settings,
        listener: &str,
        sasl: bool,
    ) -> Result<TlsSettings, String> {
        let get = |k: &str| settings.listener_str(listener, k).to_string();
        let keystore_type = get("ssl.keystore.type");
        let keystore_location = opt_path(&get("ssl.keystore.location"));
        if keystore_location.is_some() {
            check_store_type("ssl.keystore.type", &keystore_type)?;
        }
        let truststore_type = get("ssl.truststore.type");
        let truststore_location = opt_path(&get("ssl.truststore.location"));
        if truststore_location.is_some() {
            check_store_type("ssl.truststore.type", &truststore_type)?;
        }
        let client_auth = if sasl {
            settings
                .listener_override(listener, "ssl.client.auth")
                .unwrap_or("none")
                .to_string()
        } else {
            get("ssl.client.auth")
        };
        let client_auth = match client_auth.as_str() {
            "required" => ClientAuth::Required,
            "requested" => ClientAuth::Requested,
            _ => ClientAuth::None,
        };
        let mut protocols = Vec::new();
        for p in get("ssl.enabled.protocols")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match p {
                "TLSv1.3" => protocols.push(&rustls::version::TLS13),
                "TLSv1.2" => protocols.push(&rustls::version::TLS12),
                other => tracing::warn!(
                    "listener {listener}: ssl.enabled.protocols: {other} is not supported (only TLSv1.2 and TLSv1.3), ignored"
                ),
            }
        }
        if protocols.is_empty() {
            return Err("ssl.enabled.protocols names neither TLSv1.2 nor TLSv1.3".into());
        }
        let cipher_suites = get("ssl.cipher.suites")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(TlsSettings {
            listener: listener.to_string(),
            keystore_location,
            keystore_type,
            keystore_password: get("ssl.keystore.password"),
            truststore_type,
            truststore_password: get("ssl.truststore.password"),
            keystore_key: get("ssl.keystore.key"),
            keystore_chain: get("ssl.keystore.certificate.chain"),
            key_password: get("ssl.key.password"),
            truststore_location,
            truststore_certificates: get("ssl.truststore.certificates"),
            client_auth,
            protocols,
            cipher_suites,
        })
    }

    /// The files whose change triggers a reload.
    fn watched_files(&self) -> Vec<PathBuf> {
        self.keystore_location
            .iter()
            .chain(self.truststore_location.iter())
            .cloned()
            .collect()
    }

    /// Read the key material and build a rustls server config.
    pub fn build(&self) -> Result<ServerConfig, String> {
        let (chain, key) = self.load_keystore()?;
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites = select_suites(provider.cipher_suites, &self.cipher_suites)?;
        let provider = Arc::new(provider);
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.protocols)
            .map_err(|e| format!("ssl.enabled.protocols / ssl.cipher.suites: {e}"))?;
        let builder = match self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let roots = self.load_truststore()?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
                let verifier = if auth == ClientAuth::Requested {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| format!("ssl truststore: {e}"))?,
                )
            }
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| format!("ssl keystore: {e}"))?;
        config.alpn_protocols.clear();
        // The server's order decides (clients such as rustls and Java list AES-256 first).
        config.ignore_client_order = true;
        Ok(config)
    }

    fn load_keystore(
        &self,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
        let (key_pem, chain_pem) = match &self.keystore_location {
            Some(p) => {
                let text = std::fs::read(p)
                    .map_err(|e| format!("ssl.keystore.location {}: {e}", p.display()))?;
                if store_format("ssl.keystore", &self.keystore_type, p, &text)? == Format::Pkcs12 {
                    return pkcs12_keystore(p, &text, &self.keystore_password, &self.key_password);
                }
                (text.clone(), text)
            }
            None => {
                if self.keystore_key.trim().is_empty() || self.keystore_chain.trim().is_empty() {
                    return Err("no keystore: set ssl.keystore.location (PEM with key and certificate chain) or ssl.keystore.key and ssl.keystore.certificate.chain".into());
                }
                (
                    unfold_inline_pem(&self.keystore_key).into_bytes(),
                    unfold_inline_pem(&self.keystore_chain).into_bytes(),
                )
            }
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("ssl keystore certificate chain: {e}"))?;
        if chain.is_empty() {
            return Err("ssl keystore: no certificate in the chain".into());
        }
        let key = match encrypted_key_der(&key_pem)? {
            Some(der) => decrypt_key(&der, &self.key_password)?,
            None => PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| format!("ssl keystore private key: {e}"))?,
        };
        Ok((chain, key))
    }

    fn load_truststore(&self) -> Result<RootCertStore, String> {
        let pem = match &self.truststore_location {
            Some(p) => std::fs::read(p)
                .map_err(|e| format!("ssl.truststore.location {}: {e}", p.display()))?,
            None => unfold_inline_pem(&self.truststore_certificates).into_bytes(),
        };
        let certs: Vec<CertificateDer<'static>> = match &self.truststore_location {
            Some(p)
                if store_format("ssl.truststore", &self.truststore_type, p, &pem)?
                    == Format::Pkcs12 =>
            {
                pkcs12_truststore(p, &pem, &self.truststore_password)?
            }
            _ => CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("ssl truststore: {e}"))?,
        };
        let mut roots = RootCertStore::empty();
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("ssl truststore: {e}"))?;
        }
        if roots.is_empty() {
            return Err(format!(
                "ssl.client.auth needs a truststore with at least one certificate (ssl.truststore.location or ssl.truststore.certificates) on listener {}",
                self.listener
            ));
        }
        Ok(roots)
    }
}

/// The suites a listener offers, most preferred first: `ssl.cipher.suites` in its
/// order (as a JSSE server honours its own order), or all of `all` ranked by
/// [`suite_rank`]. AES-128-GCM leads by default: 10 AES rounds instead of
/// AES-256's 14 for the same authenticated encryption (TLS 1.3's mandatory suite),
/// where ring's order puts AES-256 first and every fetched byte costs more.
fn select_suites(
    mut all: Vec<rustls::SupportedCipherSuite>,
    configured: &[String],
) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    if configured.is_empty() {
        all.sort_by_key(suite_rank);
        return Ok(all);
    }
    for wanted in configured {
        if !all.iter().any(|s| suite_name(s) == *wanted) {
            return Err(format!(
                "ssl.cipher.suites: {wanted} is not supported (supported: {})",
                all.iter().map(suite_name).collect::<Vec<_>>().join(",")
            ));
        }
    }
    all.retain(|s| configured.contains(&suite_name(s)));
    all.sort_by_key(|s| configured.iter().position(|w| *w == suite_name(s)));
    Ok(all)
}

/// The default preference among the provider's suites: TLS 1.3 before TLS 1.2, and
/// within each AES-128-GCM, then AES-256-GCM, then ChaCha20-Poly1305 (fast without
/// AES instructions only); the sort is stable, so ties keep ring's order.
fn suite_rank(s: &rustls::SupportedCipherSuite) -> u8 {
    let name = suite_name(s);
    let version = if name.starts_with("TLS_AES") || name.starts_with("TLS_CHACHA") {
        0
    } else {
        3
    };
    let cipher = if name.contains("AES_128_GCM") {
        0
    } else if name.contains("AES_256_GCM") {
        1
    } else {
        2
    };
    version + cipher
}

/// Kafka's names: IANA names (`TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
fn suite_name(s: &rustls::SupportedCipherSuite) -> String {
    format!("{:?}", s.suite()).replace("TLS13_", "TLS_")
}

fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The store types weir reads: PEM, PKCS12, and JKS (Kafka's default; as
/// Java's JKS type, it reads a PKCS12 or PEM file, and refuses a real JKS file).
fn check_store_type(key: &str, t: &str) -> Result<(), String> {
    if ["PEM", "PKCS12", "JKS"]
        .iter()
        .any(|k| t.eq_ignore_ascii_case(k))
    {
        Ok(())
    } else {
        Err(format!(
            "{key} {t} is not supported: weir reads PKCS12 and PEM stores ({key}=PKCS12 or PEM)"
        ))
    }
}

/// How a store file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pem,
    Pkcs12,
}

const JKS_MAGIC: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];
const JCEKS_MAGIC: [u8; 4] = [0xce, 0xce, 0xce, 0xce];

/// `prefix`: `ssl.keystore` or `ssl.truststore`.
fn store_format(prefix: &str, t: &str, path: &Path, data: &[u8]) -> Result<Format, String> {
    if data.starts_with(&JKS_MAGIC) || data.starts_with(&JCEKS_MAGIC) {
        let p = path.display();
        return Err(format!(
            "{prefix}.location {p} is a JKS store, which weir does not read: convert it with `keytool -importkeystore -srckeystore {p} -destkeystore {p}.p12 -deststoretype PKCS12` and set {prefix}.location={p}.p12, {prefix}.type=PKCS12"
        ));
    }
    if t.eq_ignore_ascii_case("PEM") || looks_like_pem(data) {
        Ok(Format::Pem)
    } else {
        Ok(Format::Pkcs12)
    }
}

fn read_pkcs12(
    prefix: &str,
    path: &Path,
    data: &[u8],
    passwords: &[&str],
) -> Result<p12_keystore::Pkcs12Archive, String> {
    let mut last = String::new();
    for pw in passwords {
        match p12_keystore::Pkcs12Archive::from_pkcs12(data, pw) {
            Ok(a) => return Ok(a),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "{prefix}.location {}: cannot read the PKCS12 store (wrong {prefix}.password?): {last}",
        path.display()
    ))
}

/// The key and chain of a PKCS12 keystore: the store is opened with
/// `ssl.keystore.password` (or `ssl.key.password`: a PKCS12 store made by
/// keytool has one password for both). The key with a certificate of the same
/// local key id is used, its chain built from the other certificates.
fn pkcs12_keystore(
    path: &Path,
    data: &[u8],
    store_password: &str,
    key_password: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let mut passwords = vec![store_password];
    if !key_password.is_empty() && key_password != store_password {
        passwords.push(key_password);
    }
    let mut last = String::new();
    for pw in passwords {
        let ks = match p12_keystore::KeyStore::from_pkcs12(
            data,
            pw,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        ) {
            Ok(ks) => ks,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        let Some((_, chain)) = ks.private_key_chain() else {
            return Err(format!(
                "ssl.keystore.location {}: the PKCS12 keystore holds no private key with its certificate",
                path.display()
            ));
        };
        let certs = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
        return Ok((certs, key));
    }
    Err(format!(
        "ssl.keystore.location {}: cannot read the PKCS12 store (wrong ssl.keystore.password?): {last}",
        path.display()
    ))
}

/// Every certificate of a PKCS12 truststore (keytool's trusted-certificate
/// entries, or the certificates openssl put in it).
fn pkcs12_truststore(
    path: &Path,
    data: &[u8],
    password: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let archive = read_pkcs12("ssl.truststore", path, data, &[password])?;
    Ok(archive
        .certs
        .iter()
        .map(|c| CertificateDer::from(c.cert.as_der().to_vec()))
        .collect())
}

/// Inline PEM values in a properties file often lose their line breaks; put
/// them back so the PEM parser sees a header line, base64 lines and a footer.
fn unfold_inline_pem(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s.trim();
    while let Some(start) = rest.find("-----BEGIN ") {
        let Some(hdr_end) = rest[start + 11..].find("-----") else {
            break;
        };
        let hdr_end = start + 11 + hdr_end + 5;
        let label = &rest[start + 11..hdr_end - 5];
        let footer = format!("-----END {label}-----");
        let Some(f) = rest[hdr_end..].find(&footer) else {
            break;
        };
        let body: String = rest[hdr_end..hdr_end + f]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str(&rest[start..hdr_end]);
        out.push('\n');
        for chunk in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(&footer);
        out.push('\n');
        rest = &rest[hdr_end + f + footer.len()..];
    }
    out
}

/// The DER of an `ENCRYPTED PRIVATE KEY` PEM block, if there is one.
fn encrypted_key_der(pem: &[u8]) -> Result<Option<Vec<u8>>, String> {
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
        .ok_or("ssl keystore: unterminated ENCRYPTED PRIVATE KEY")?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(Some)
        .map_err(|e| format!("ssl keystore: encrypted key: {e}"))
}

/// Decrypt a PKCS#8 `EncryptedPrivateKeyInfo` (PBES2) with `ssl.key.password`.
fn decrypt_key(der: &[u8], password: &str) -> Result<PrivateKeyDer<'static>, String> {
    if password.is_empty() {
        return Err("ssl keystore: the private key is encrypted: set ssl.key.password".into());
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der)
        .map_err(|e| format!("ssl keystore: encrypted key: {e}"))?;
    let doc = info
        .decrypt(password)
        .map_err(|_| "ssl keystore: cannot decrypt the private key with ssl.key.password")?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        doc.as_bytes().to_vec(),
    )))
}

/// A TLS listener's acceptor, swapped when its files change.
pub struct TlsListener {
    settings: TlsSettings,
    config: ArcSwap<ServerConfig>,
}

impl TlsListener {
    pub fn new(settings: TlsSettings) -> Result<TlsListener, String> {
        let config = settings.build()?;
        Ok(TlsListener {
            settings,
            config: ArcSwap::from_pointee(config),
        })
    }

    pub fn client_auth(&self) -> ClientAuth {
        self.settings.client_auth
    }

    /// The acceptor for a new connection (the current config).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.load_full())
    }

    /// Rebuild from the files now; the old config stays on failure.
    pub fn reload(&self) -> Result<(), String> {
        let config = self.settings.build()?;
        self.config.store(Arc::new(config));
        Ok(())
    }

    fn mtimes(&self) -> Vec<Option<SystemTime>> {
        self.settings
            .watched_files()
            .iter()
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .collect()
    }

    /// Watch the key, chain and truststore files; reload when one changes.
    /// Runs until the broker shuts down.
    pub async fn watch(self: Arc<Self>, interval: std::time::Duration) {
        if self.settings.watched_files().is_empty() {
            return;
        }
        let mut seen = self.mtimes();
        loop {
            tokio::time::sleep(interval).await;
            let now = self.mtimes();
            if now == seen {
                continue;
            }
            seen = now;
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.reload()).await {
                Ok(Ok(())) => tracing::info!(
                    "listener {}: TLS key material changed on disk, reloaded",
                    self.settings.listener
                ),
                Ok(Err(e)) => tracing::warn!(
                    "listener {}: TLS key material changed but cannot be loaded, keeping the previous one: {e}",
                    self.settings.listener
                ),
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(suites: &[rustls::SupportedCipherSuite]) -> Vec<String> {
        suites.iter().map(suite_name).collect()
    }

    #[test]
    fn aes_128_gcm_is_preferred_unless_configured_otherwise() {
        let all = rustls::crypto::ring::default_provider().cipher_suites;
        let default = names(&select_suites(all.clone(), &[]).unwrap());
        assert_eq!(default.len(), all.len());
        assert_eq!(
            &default[..3],
            [
                "TLS_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256"
            ]
        );
        let tls12 = &default[3..];
        let first_256 = tls12.iter().position(|n| n.contains("AES_256")).unwrap();
        assert!(tls12[..first_256].iter().all(|n| n.contains("AES_128")));

        let configured = [
            "TLS_CHACHA20_POLY1305_SHA256".to_string(),
            "TLS_AES_256_GCM_SHA384".to_string(),
        ];
        let chosen = names(&select_suites(all.clone(), &configured).unwrap());
        assert_eq!(chosen, configured);
        let unknown = ["TLS_NOPE".to_string()];
        assert!(select_suites(all, &unknown)
            .unwrap_err()
            .contains("TLS_NOPE is not supported"));
    }

    #[test]
    fn inline_pem_without_line_breaks_is_unfolded() {
        let s = "-----BEGIN CERTIFICATE----- QUJD REVG -----END CERTIFICATE-----";
        assert_eq!(
            unfold_inline_pem(s),
            "-----BEGIN CERTIFICATE-----\nQUJDREVG\n-----END CERTIFICATE-----\n"
        );
    }
}
