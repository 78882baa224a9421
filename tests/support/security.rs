//! TLS/SASL helpers for the security tests: a throwaway PKI made with the
//! `openssl` command (CA, broker certificate for 127.0.0.1, client
//! certificates, a second "rogue" CA), kcat runs with Kafka client properties,
//! SCRAM credential requests (the salted password a client computes), and an
//! authorizer stage that records who each request came from.

use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::AlterUserScramCredentialsRequest;
use kafka_protocol::protocol::StrBytes;
use parking_lot::Mutex;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::pipeline::{Authorizer, Rejection, RequestContext};

/// Whether a command is on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Certificates and keys in a temp dir.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    /// CA `ca`, broker `server` (127.0.0.1/localhost), client `client`
    /// (`/C=US/O=acme/OU=eng/CN=alice`) signed by `ca`; `rogue-client` signed by
    /// another CA.
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        std::fs::write(d.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for ca in ["ca", "rogue-ca"] {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=weir test {ca}"),
                ],
            );
        }
        let issue = |name: &str, subj: &str, ca: &str, ext: &str| {
            openssl(
                d,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    subj,
                ],
            );
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-out",
                    &format!("{name}.crt"),
                    "-days",
                    "2",
                    "-extfile",
                    ext,
                ],
            );
        };
        issue("server", "/CN=localhost", "ca", "server.ext");
        issue("client", "/C=US/O=acme/OU=eng/CN=alice", "ca", "client.ext");
        issue("rogue-client", "/CN=mallory", "rogue-ca", "client.ext");
        let key = std::fs::read_to_string(d.join("server.key")).unwrap();
        let crt = std::fs::read_to_string(d.join("server.crt")).unwrap();
        std::fs::write(d.join("server.pem"), format!("{key}{crt}")).unwrap();
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// Broker settings for a PEM keystore (and truststore) on every listener.
    pub fn broker_settings(&self) -> Vec<(String, String)> {
        vec![
            ("ssl.keystore.type".into(), "PEM".into()),
            ("ssl.keystore.location".into(), self.path("server.pem")),
            ("ssl.truststore.type".into(), "PEM".into()),
            ("ssl.truststore.location".into(), self.path("ca.pem")),
        ]
    }
}

/// What a kcat run printed.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Run kcat with `-X` properties and args, feeding `stdin`; killed after `limit`.
pub fn kcat(props: &[(&str, String)], args: &[&str], stdin: Option<&str>, limit: Duration) -> Run {
    let mut cmd = Command::new("kcat");
    // cargo test puts rdkafka-sys's own librdkafka (built without OpenSSL) first.
    cmd.env_remove("LD_LIBRARY_PATH");
    for (k, v) in props {
        cmd.arg("-X").arg(format!("{k}={v}"));
    }
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn kcat");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().unwrap();
        s.write_all(input.as_bytes()).unwrap();
    }
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// An AlterUserScramCredentials upsertion as Kafka's admin client builds it.
pub fn scram_upsert(
    user: &str,
    mechanism: i8,
    password: &str,
    iterations: i32,
) -> AlterUserScramCredentialsRequest {
    let salt = b"weir-test-salt-0123456789".to_vec();
    let salted: Vec<u8> = match mechanism {
        1 => pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(
            password.as_bytes(),
            &salt,
            iterations as u32,
        )
        .to_vec(),
        _ => pbkdf2::pbkdf2_hmac_array::<sha2::Sha512, 64>(
            password.as_bytes(),
            &salt,
            iterations as u32,
        )
        .to_vec(),
    };
    AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        ScramCredentialUpsertion::default()
            .with_name(StrBytes::from_string(user.to_string()))
            .with_mechanism(mechanism)
            .with_iterations(iterations)
            .with_salt(salt.into())
            .with_salted_password(salted.into()),
    ])
}

/// An authorizer that allows everything and records `listener principal` per request.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<String>>);

impl Authorizer for Recorder {
    fn authorize(&self, ctx: &RequestContext) -> Result<(), Rejection> {
        self.0
            .lock()
            .push(format!("{} {}", ctx.listener, ctx.principal));
        Ok(())
    }
}

impl Recorder {
    pub fn seen(&self, needle: &str) -> bool {
        self.0.lock().iter().any(|s| s == needle)
    }

    pub fn all(&self) -> Vec<String> {
        let mut v = self.0.lock().clone();
        v.sort();
        v.dedup();
        v
    }
}

/// An in-process broker with these settings and a recording authorizer.
pub async fn start_recorded(
    dir: &Path,
    sets: &[(String, String)],
) -> (weir::Broker, Arc<Recorder>) {
    let mut cfg = weir::BrokerConfig::ephemeral(dir);
    for (k, v) in sets {
        cfg.settings
            .set(k, v, weir::config::Source::Cli)
            .unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    let rec = Arc::new(Recorder::default());
    let pipeline = weir::pipeline::Pipeline::default().with_authorizer(rec.clone());
    let broker = super::bounded(
        "broker start",
        weir::Broker::start_with_pipeline(cfg, pipeline),
    )
    .await
    .expect("broker starts");
    (broker, rec)
}
