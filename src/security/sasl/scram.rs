//! SCRAM-SHA-256 and SCRAM-SHA-512 server (RFC 5802 / RFC 7677) with Kafka's
//! rules (`ScramSaslServer`): no channel binding (`n,`), an authorization id
//! equal to the user name if given, extensions after the nonce (`tokenauth`:
//! delegation tokens, which weir does not issue, so a token login fails as an
//! unknown token does in Kafka), at least 4096 iterations, and the client proof
//! compared in constant time.
//!
//! Primitives come from RustCrypto's `hmac` and `sha2` (pbkdf2 only in tests:
//! the server never sees a password).

use super::{MechanismStep, SaslFailure};
use crate::security::scram_store::{ScramCredential, ScramStore};
use base64::Engine;
use subtle::ConstantTimeEq;

pub use crate::security::scram_mechanism::{
    hash, hmac, ScramMechanism, MAX_ITERATIONS, MIN_ITERATIONS,
};

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

/// A random printable nonce (as Kafka's `ScramFormatter.secureRandomString`).
fn random_nonce() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("OS random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `saslname` -> user name (`=2C` -> `,`, `=3D` -> `=`).
fn username(saslname: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = saslname;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// The parsed client-first message.
struct ClientFirst {
    bare: String,
    user: String,
    authzid: String,
    nonce: String,
    token_auth: bool,
}

fn parse_client_first(msg: &[u8]) -> Option<ClientFirst> {
    let msg = std::str::from_utf8(msg).ok()?;
    // gs2-header: "n," [ "a=" authzid ] ","
    let rest = msg.strip_prefix("n,")?;
    let (authz, bare) = rest.split_once(',')?;
    let authzid = match authz {
        "" => String::new(),
        a => username(a.strip_prefix("a=")?)?,
    };
    let mut fields = bare.split(',');
    let user = username(fields.next()?.strip_prefix("n=")?)?;
    let nonce = fields.next()?.strip_prefix("r=")?.to_string();
    if nonce.is_empty() || user.is_empty() {
        return None;
    }
    let mut token_auth = false;
    for ext in fields {
        let (k, v) = ext.split_once('=')?;
        if k == "tokenauth" {
            token_auth = v.eq_ignore_ascii_case("true");
        }
    }
    Some(ClientFirst {
        bare: bare.to_string(),
        user,
        authzid,
        nonce,
        token_auth,
    })
}

/// What the client-final message is checked against.
struct ClientFinalState {
    first: ClientFirst,
    server_first: String,
    nonce: String,
    credential: ScramCredential,
}

enum State {
    ClientFirst,
    ClientFinal(Box<ClientFinalState>),
    Done,
}

/// One SCRAM exchange.
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: State,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> ScramServer {
        ScramServer {
            mechanism,
            state: State::ClientFirst,
        }
    }

    /// Kafka's answer to a `SaslException` (no detail for the client).
    fn invalid(&self) -> SaslFailure {
        SaslFailure::generic()
    }

    pub fn step(&mut self, token: &[u8], store: &ScramStore) -> Result<MechanismStep, SaslFailure> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::ClientFirst => {
                let first = parse_client_first(token)
                    .ok_or_else(|| self.invalid().log("invalid SCRAM client first message"))?;
                if first.token_auth {
                    return Err(self.invalid().log("delegation tokens are not supported"));
                }
                let credential = store
                    .lookup(&first.user, self.mechanism)
                    .ok_or_else(|| self.invalid().log("unknown user"))?;
                if !first.authzid.is_empty() && first.authzid != first.user {
                    return Err(SaslFailure::with_message(
                        "Authentication failed: Client requested an authorization id that is different from username",
                    ));
                }
                if credential.iterations < MIN_ITERATIONS {
                    return Err(self.invalid().log("too few iterations"));
                }
                let nonce = format!("{}{}", first.nonce, random_nonce());
                let server_first = format!(
                    "r={nonce},s={},i={}",
                    b64(&credential.salt),
                    credential.iterations
                );
                let out = server_first.clone().into_bytes();
                self.state = State::ClientFinal(Box::new(ClientFinalState {
                    first,
                    server_first,
                    nonce,
                    credential,
                }));
                Ok(MechanismStep::Challenge(out))
            }
            State::ClientFinal(state) => {
                let ClientFinalState {
                    first,
                    server_first,
                    nonce,
                    credential,
                } = *state;
                let msg = std::str::from_utf8(token)
                    .map_err(|_| self.invalid().log("invalid SCRAM client final message"))?;
                // c=<channel binding>,r=<nonce>[,extensions],p=<proof>
                let (without_proof, proof) = msg
                    .rsplit_once(",p=")
                    .ok_or_else(|| self.invalid().log("invalid SCRAM client final message"))?;
                let mut fields = without_proof.split(',');
                let cbind = fields.next().and_then(|c| c.strip_prefix("c="));
                let got_nonce = fields.next().and_then(|r| r.strip_prefix("r="));
                let (Some(_), Some(got_nonce)) = (cbind, got_nonce) else {
                    return Err(self.invalid().log("invalid SCRAM client final message"));
                };
                if got_nonce != nonce {
                    return Err(self
                        .invalid()
                        .log("invalid client nonce in the final client message"));
                }
                let proof = base64::engine::general_purpose::STANDARD
                    .decode(proof)
                    .map_err(|_| self.invalid().log("invalid SCRAM client proof"))?;
                let auth_message = format!("{},{server_first},{without_proof}", first.bare);
                let m = self.mechanism;
                let client_signature = hmac(m, &credential.stored_key, auth_message.as_bytes());
                if proof.len() != client_signature.len() {
                    return Err(self.invalid().log("invalid client credentials"));
                }
                let client_key: Vec<u8> = client_signature
                    .iter()
                    .zip(&proof)
                    .map(|(a, b)| a ^ b)
                    .collect();
                let computed = hash(m, &client_key);
                if !bool::from(computed.ct_eq(&credential.stored_key)) {
                    return Err(self.invalid().log("invalid client credentials"));
                }
                let server_signature = hmac(m, &credential.server_key, auth_message.as_bytes());
                let server_final = format!("v={}", b64(&server_signature));
                Ok(MechanismStep::Done {
                    response: server_final.into_bytes(),
                    authorization_id: first.user,
                })
            }
            State::Done => Err(self
                .invalid()
                .log("unexpected SCRAM message after completion")),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::security::scram_store::{credential_from_salted_password, CredentialChange};
    use sha2::{Sha256, Sha512};
    use std::sync::Arc;

    pub fn salted_password(
        m: ScramMechanism,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Vec<u8> {
        match m {
            ScramMechanism::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password.as_bytes(), salt, iterations)
                    .to_vec()
            }
            ScramMechanism::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password.as_bytes(), salt, iterations)
                    .to_vec()
            }
        }
    }

    /// A client side of the exchange (RFC 5802), for tests.
    fn client_final(
        m: ScramMechanism,
        password: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> (String, Vec<u8>) {
        let mut nonce = "";
        let mut salt = Vec::new();
        let mut iterations = 0;
        for f in server_first.split(',') {
            if let Some(v) = f.strip_prefix("r=") {
                nonce = v;
            } else if let Some(v) = f.strip_prefix("s=") {
                salt = base64::engine::general_purpose::STANDARD.decode(v).unwrap();
            } else if let Some(v) = f.strip_prefix("i=") {
                iterations = v.parse().unwrap();
            }
        }
        let salted = salted_password(m, password, &salt, iterations);
        let client_key = hmac(m, &salted, b"Client Key");
        let stored_key = hash(m, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let sig = hmac(m, &stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let server_key = hmac(m, &salted, b"Server Key");
        (
            format!("{without_proof},p={}", b64(&proof)),
            hmac(m, &server_key, auth.as_bytes()),
        )
    }

    fn store_with(
        user: &str,
        password: &str,
        m: ScramMechanism,
    ) -> (tempfile::TempDir, ScramStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(weir_storage::Store::open(dir.path()).unwrap());
        let s = ScramStore::open(store).unwrap();
        let salted = salted_password(m, password, b"NaCl", 4096);
        s.apply(&[CredentialChange::Upsert {
            user: user.into(),
            mechanism: m,
            credential: credential_from_salted_password(m, b"NaCl", &salted, 4096),
        }])
        .unwrap();
        (dir, s)
    }

    fn exchange(
        m: ScramMechanism,
        user: &str,
        password: &str,
        store: &ScramStore,
    ) -> Result<String, SaslFailure> {
        let mut server = ScramServer::new(m);
        let bare = format!("n={user},r=clientnonce");
        let MechanismStep::Challenge(sf) = server.step(format!("n,,{bare}").as_bytes(), store)?
        else {
            panic!("expected a challenge")
        };
        let sf = String::from_utf8(sf).unwrap();
        assert!(sf.starts_with("r=clientnonce"));
        let (cf, expect_sig) = client_final(m, password, &bare, &sf);
        match server.step(cf.as_bytes(), store)? {
            MechanismStep::Done {
                response,
                authorization_id,
            } => {
                assert_eq!(response, format!("v={}", b64(&expect_sig)).into_bytes());
                Ok(authorization_id)
            }
            MechanismStep::Challenge(_) => panic!("expected completion"),
        }
    }

    #[test]
    fn right_password_authenticates_both_mechanisms() {
        for m in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            let (_d, store) = store_with("alice", "s3cret", m);
            assert_eq!(exchange(m, "alice", "s3cret", &store).unwrap(), "alice");
        }
    }

    #[test]
    fn wrong_password_unknown_user_and_garbage_fail_with_kafkas_message() {
        let m = ScramMechanism::Sha512;
        let (_d, store) = store_with("alice", "s3cret", m);
        let generic = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512";
        let e = exchange(m, "alice", "wrong", &store).unwrap_err();
        assert_eq!(e.message("SCRAM-SHA-512", false), generic);
        let e = exchange(m, "mallory", "x", &store).unwrap_err();
        assert_eq!(e.message("SCRAM-SHA-512", false), generic);
        let e = exchange(ScramMechanism::Sha256, "alice", "s3cret", &store).unwrap_err();
        assert_eq!(
            e.message("SCRAM-SHA-256", false),
            generic.replace("512", "256")
        );
        let mut server = ScramServer::new(m);
        assert!(server.step(b"\xff\x00garbage", &store).is_err());
        let mut server = ScramServer::new(m);
        assert!(server.step(b"y,,n=alice,r=x", &store).is_err());
        let mut server = ScramServer::new(m);
        assert!(server.step(b"n,a=bob,n=alice,r=x", &store).is_err());
        let mut server = ScramServer::new(m);
        assert!(server
            .step(b"n,,n=alice,r=x,tokenauth=true", &store)
            .is_err());
    }

    #[test]
    fn saslname_escapes() {
        assert_eq!(username("a=2Cb=3Dc").as_deref(), Some("a,b=c"));
        assert_eq!(username("bad=xx"), None);
    }
}
