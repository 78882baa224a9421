//! `weir serve --dev-tls` (`weir.dev.tls=true`): a throwaway CA and a broker
//! certificate for `localhost` / `127.0.0.1` in `<data dir>/dev-tls/` (kept
//! across restarts), used by every TLS listener that has no keystore of its own,
//! with the client settings printed at start-up. For development only.

use crate::config::{Settings, Source};
use std::path::{Path, PathBuf};

/// The files written.
pub struct DevTls {
    pub dir: PathBuf,
    pub ca_pem: PathBuf,
    pub keystore_pem: PathBuf,
}

/// Create (or reuse) the CA and broker certificate under `data_dir`.
pub fn ensure(data_dir: &Path) -> Result<DevTls, String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let dir = data_dir.join("dev-tls");
    let out = DevTls {
        ca_pem: dir.join("ca.pem"),
        keystore_pem: dir.join("broker.pem"),
        dir: dir.clone(),
    };
    if out.ca_pem.exists() && out.keystore_pem.exists() {
        return Ok(out);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let e = |e: rcgen::Error| format!("dev TLS certificate: {e}");
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "weir dev CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).map_err(e)?;
    let key = KeyPair::generate().map_err(e)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(e)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(e)?;
    // Owner-only: broker.pem holds the private key.
    let write = |p: &Path, text: String| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(p)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    write(&out.ca_pem, ca.pem())?;
    write(
        &out.keystore_pem,
        format!("{}{}", key.serialize_pem(), cert.pem()),
    )?;
    Ok(out)
}

/// Point the broker-wide keystore at the dev certificate (unless one is configured).
pub fn apply(settings: &mut Settings, dev: &DevTls) -> Result<(), String> {
    if settings.str("ssl.keystore.location").is_empty()
        && settings.str("ssl.keystore.key").is_empty()
    {
        let set = |s: &mut Settings, k: &str, v: &str| {
            s.set(k, v, Source::Default).map_err(|e| e.to_string())
        };
        set(settings, "ssl.keystore.type", "PEM")?;
        set(
            settings,
            "ssl.keystore.location",
            &dev.keystore_pem.to_string_lossy(),
        )?;
    }
    Ok(())
}

/// The client settings to print.
pub fn client_settings(dev: &DevTls) -> String {
    format!(
        "weir dev TLS: CA certificate {ca}\n  Kafka clients: security.protocol=SSL ssl.truststore.type=PEM ssl.truststore.location={ca}\n  librdkafka/kcat: -X security.protocol=ssl -X ssl.ca.location={ca}",
        ca = dev.ca_pem.display()
    )
}
