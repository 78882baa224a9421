//! The client side of SASL/PLAIN (RFC 4616) and SASL/SCRAM-SHA-256/512 (RFC 5802,
//! RFC 7677) as sans-io messages: what to send in each SaslAuthenticate round and how to
//! check the broker's answers. The exchange itself (SaslHandshake, SaslAuthenticate) is
//! driven by [`crate::wire::Conn`].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// A SASL mechanism the tools speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    /// Kafka's name (`sasl.mechanism`), case-insensitive.
    pub fn from_name(s: &str) -> Option<Mechanism> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Some(Mechanism::Plain),
            "SCRAM-SHA-256" => Some(Mechanism::ScramSha256),
            "SCRAM-SHA-512" => Some(Mechanism::ScramSha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// The PLAIN message: empty authorization id, user name, password.
pub fn plain_message(username: &str, password: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(username.len() + password.len() + 2);
    m.push(0);
    m.extend_from_slice(username.as_bytes());
    m.push(0);
    m.extend_from_slice(password.as_bytes());
    m
}

/// One SCRAM exchange from the client's side.
pub struct ScramClient {
    sha512: bool,
    password: String,
    client_nonce: String,
    client_first_bare: String,
    /// The server signature expected in server-final, once client-final is built.
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// Starts an exchange with a fresh random nonce.
    pub fn new(mechanism: Mechanism, username: &str, password: &str) -> ScramClient {
        let mut raw = [0u8; 24];
        // The OS random source; failing it is not recoverable in a short-lived tool.
        getrandom::fill(&mut raw).expect("OS random source");
        Self::with_nonce(mechanism, username, password, B64.encode(raw))
    }

    fn with_nonce(mechanism: Mechanism, username: &str, password: &str, nonce: String) -> Self {
        // RFC 5802 saslname: ',' and '=' escaped (Kafka's ScramFormatter.saslName).
        let user = username.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            sha512: mechanism == Mechanism::ScramSha512,
            password: password.to_string(),
            client_first_bare: format!("n={user},r={nonce}"),
            client_nonce: nonce,
            server_signature: None,
        }
    }

    /// client-first-message (no channel binding, no authorization id).
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// client-final-message for the broker's server-first-message.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let sf = std::str::from_utf8(server_first)
            .map_err(|_| "SCRAM server-first-message is not UTF-8".to_string())?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in sf.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = v.parse::<u32>().ok(),
                Some(("e", v)) => return Err(format!("SCRAM: broker error {v}")),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(format!("SCRAM: malformed server-first-message '{sf}'"));
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("SCRAM: the broker's nonce does not extend ours".into());
        }
        if iterations == 0 {
            return Err("SCRAM: iteration count 0".into());
        }
        let salt = B64
            .decode(salt)
            .map_err(|e| format!("SCRAM: salt is not base64: {e}"))?;
        let salted = self.salted_password(&salt, iterations);
        let client_key = self.hmac(&salted, b"Client Key");
        let stored_key = self.hash(&client_key);
        // "biws" = base64("n,,"): no channel binding.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{sf},{without_proof}", self.client_first_bare);
        let signature = self.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = self.hmac(&salted, b"Server Key");
        self.server_signature = Some(self.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks server-final-message: the broker proves it knows the credential too.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let sf = String::from_utf8_lossy(server_final);
        if let Some(e) = sf.strip_prefix("e=") {
            return Err(format!("SCRAM: broker error {e}"));
        }
        let v = sf
            .strip_prefix("v=")
            .ok_or_else(|| format!("SCRAM: malformed server-final-message '{sf}'"))?;
        let v = v.split(',').next().unwrap_or_default();
        let got = B64
            .decode(v)
            .map_err(|e| format!("SCRAM: server signature is not base64: {e}"))?;
        match &self.server_signature {
            Some(want) if *want == got => Ok(()),
            _ => Err("SCRAM: the broker's server signature does not match".into()),
        }
    }

    fn salted_password(&self, salt: &[u8], iterations: u32) -> Vec<u8> {
        let pw = self.password.as_bytes();
        if self.sha512 {
            pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(pw, salt, iterations).to_vec()
        } else {
            pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(pw, salt, iterations).to_vec()
        }
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        if self.sha512 {
            let mut m = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        } else {
            let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    }

    fn hash(&self, data: &[u8]) -> Vec<u8> {
        if self.sha512 {
            Sha512::digest(data).to_vec()
        } else {
            Sha256::digest(data).to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3's SCRAM-SHA-256 example exchange.
    #[test]
    fn rfc7677_example() {
        let mut c = ScramClient::with_nonce(
            Mechanism::ScramSha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = c.client_final(server_first).unwrap();
        assert_eq!(
            String::from_utf8(fin).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(c
            .verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .is_err());
        assert!(c.verify_server_final(b"e=invalid-proof").is_err());
    }

    #[test]
    fn a_nonce_that_does_not_extend_ours_is_refused() {
        let mut c = ScramClient::with_nonce(Mechanism::ScramSha512, "a=b,c", "pw", "abc".into());
        assert_eq!(c.client_first(), b"n,,n=a=3Db=2Cc,r=abc");
        assert!(c.client_final(b"r=xyz123,s=AAAA,i=4096").is_err());
        assert!(c.client_final(b"r=abc,s=AAAA,i=4096").is_err());
        assert!(c.client_final(b"r=abcdef,s=AAAA,i=4096").is_ok());
    }

    #[test]
    fn plain_is_nul_separated() {
        assert_eq!(plain_message("alice", "pw"), b"\0alice\0pw");
    }
}
