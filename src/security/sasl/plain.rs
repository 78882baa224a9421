//! SASL/PLAIN (RFC 4616) against the users of Kafka's `PlainLoginModule` JAAS
//! line (`user_<name>="<password>"` options). Passwords are kept only as salted
//! SHA-256 digests and compared in constant time; they are never logged.
//! Users may also come from a weir users file of salted PBKDF2 hashes
//! ([`super::plain_file`]); a user of the JAAS line is checked against it first.

use super::{MechanismStep, SaslFailure};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// The PLAIN users of one listener.
#[derive(Default)]
pub struct PlainUsers {
    salt: [u8; 16],
    digests: BTreeMap<String, [u8; 32]>,
    /// `weir.sasl.plain.users.file`, when set.
    pub file: Option<std::sync::Arc<super::plain_file::UsersFile>>,
}

impl std::fmt::Debug for PlainUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PlainUsers({} users, file {:?})",
            self.digests.len(),
            self.file
        )
    }
}

impl PlainUsers {
    /// From the options of a JAAS line (`user_alice` -> `alice`).
    pub fn from_jaas_options(options: &BTreeMap<String, String>) -> PlainUsers {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("OS random source");
        let mut users = PlainUsers {
            salt,
            digests: BTreeMap::new(),
            file: None,
        };
        for (k, v) in options {
            if let Some(user) = k.strip_prefix("user_") {
                let d = users.digest(v);
                users.digests.insert(user.to_string(), d);
            }
        }
        users
    }

    fn digest(&self, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    pub fn len(&self) -> usize {
        self.digests.len() + self.file.as_ref().map_or(0, |f| f.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `password` is `user`'s (constant time in the password).
    fn verify(&self, user: &str, password: &str) -> bool {
        let given = self.digest(password);
        match self.digests.get(user) {
            Some(d) => bool::from(d.ct_eq(&given)),
            None if self.file.is_some() => {
                let file = self.file.as_ref().expect("checked");
                file.verify(user, password).unwrap_or(false)
            }
            None => {
                // Same work for an unknown user.
                let _ = given.ct_eq(&[0u8; 32]);
                false
            }
        }
    }
}

/// One PLAIN exchange: `[authzid] NUL authcid NUL passwd`, Kafka's checks and messages.
pub fn authenticate(token: &[u8], users: &PlainUsers) -> Result<MechanismStep, SaslFailure> {
    let text = String::from_utf8_lossy(token);
    let parts: Vec<&str> = text.split('\u{0}').collect();
    if parts.len() != 3 {
        return Err(SaslFailure::with_message(format!(
            "Invalid SASL/PLAIN response: expected 3 tokens, got {}",
            parts.len()
        )));
    }
    let (authzid, user, password) = (parts[0], parts[1], parts[2]);
    if user.is_empty() {
        return Err(SaslFailure::with_message(
            "Authentication failed: username not specified",
        ));
    }
    if password.is_empty() {
        return Err(SaslFailure::with_message(
            "Authentication failed: password not specified",
        ));
    }
    if !users.verify(user, password) {
        return Err(SaslFailure::with_message(
            "Authentication failed: Invalid username or password",
        )
        .log(format!("invalid username or password for user {user:?}")));
    }
    if !authzid.is_empty() && authzid != user {
        return Err(SaslFailure::with_message(
            "Authentication failed: Client requested an authorization id that is different from username",
        ));
    }
    Ok(MechanismStep::Done {
        response: Vec::new(),
        authorization_id: user.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> PlainUsers {
        let mut o = BTreeMap::new();
        o.insert("username".into(), "admin".into());
        o.insert("password".into(), "admin-secret".into());
        o.insert("user_admin".into(), "admin-secret".into());
        o.insert("user_alice".into(), "alice-secret".into());
        PlainUsers::from_jaas_options(&o)
    }

    #[test]
    fn right_password_authenticates() {
        let u = users();
        assert_eq!(u.len(), 2);
        match authenticate(b"\0alice\0alice-secret", &u).unwrap() {
            MechanismStep::Done {
                authorization_id, ..
            } => assert_eq!(authorization_id, "alice"),
            _ => panic!(),
        }
        assert!(authenticate(b"alice\0alice\0alice-secret", &u).is_ok());
    }

    #[test]
    fn failures_carry_kafkas_messages() {
        let u = users();
        let msg = |t: &[u8]| authenticate(t, &u).unwrap_err().message("PLAIN", false);
        assert_eq!(
            msg(b"\0alice\0wrong"),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            msg(b"\0nobody\0x"),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            msg(b"garbage"),
            "Invalid SASL/PLAIN response: expected 3 tokens, got 1"
        );
        assert_eq!(
            msg(b"\0\0x"),
            "Authentication failed: username not specified"
        );
        assert_eq!(
            msg(b"bob\0alice\0alice-secret"),
            "Authentication failed: Client requested an authorization id that is different from username"
        );
    }
}
