//! SCRAM credentials (KIP-554): per user and mechanism the salt, stored key,
//! server key and iteration count, as Kafka's `UserScramCredentialRecord` holds
//! them (never a password). Changed by AlterUserScramCredentials, read by
//! DescribeUserScramCredentials and by the SCRAM authenticator, effective at
//! once; persisted in the data dir as `weir-scram-credentials.checkpoint`
//! (written atomically, with a CRC-32 trailer checked on load).

use super::scram_mechanism::{self as scram, ScramMechanism};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_storage::{StorageError, Store};

/// The file in the data dir.
pub const SCRAM_CHECKPOINT: &str = "weir-scram-credentials.checkpoint";
const HEADER: &str = "weir-scram-credentials v1";

/// One user's credential for one mechanism.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScramCredential([hidden])")
    }
}

/// A change the AlterUserScramCredentials handler validated.
#[derive(Debug, Clone)]
pub enum CredentialChange {
    Delete {
        user: String,
        mechanism: ScramMechanism,
    },
    Upsert {
        user: String,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    },
}

/// The credential store.
pub struct ScramStore {
    store: Arc<Store>,
    creds: RwLock<BTreeMap<(String, ScramMechanism), ScramCredential>>,
    /// Serialises write-to-disk + swap so concurrent alters cannot interleave.
    write: parking_lot::Mutex<()>,
}

impl std::fmt::Debug for ScramStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScramStore")
    }
}

fn corrupt(reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        path: SCRAM_CHECKPOINT.into(),
        reason: reason.into(),
    }
}

fn b64(d: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn encode(creds: &BTreeMap<(String, ScramMechanism), ScramCredential>) -> Vec<u8> {
    let mut text = format!("{HEADER}\n");
    for ((user, mech), c) in creds {
        text.push_str(&format!(
            "{} {} {} {} {} {}\n",
            b64(user.as_bytes()),
            mech.name(),
            c.iterations,
            b64(&c.salt),
            b64(&c.stored_key),
            b64(&c.server_key)
        ));
    }
    let crc = crc32fast::hash(text.as_bytes());
    text.push_str(&format!("crc32 {crc:08x}\n"));
    text.into_bytes()
}

pub fn decode(
    data: &[u8],
) -> Result<BTreeMap<(String, ScramMechanism), ScramCredential>, StorageError> {
    let text = std::str::from_utf8(data).map_err(|_| corrupt("not UTF-8"))?;
    let body_end = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or_else(|| corrupt("no checksum line"))?;
    let (body, trailer) = text.split_at(body_end);
    let want = trailer
        .trim()
        .strip_prefix("crc32 ")
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| corrupt("bad checksum line"))?;
    let got = crc32fast::hash(body.as_bytes());
    if got != want {
        return Err(corrupt(format!(
            "checksum mismatch: stored {want:08x}, computed {got:08x}"
        )));
    }
    let mut lines = body.lines();
    if lines.next() != Some(HEADER) {
        return Err(corrupt("unknown header"));
    }
    let mut out = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(' ').collect();
        let bad = || corrupt(format!("bad line {line:?}"));
        if f.len() != 6 {
            return Err(bad());
        }
        let user = String::from_utf8(unb64(f[0]).ok_or_else(bad)?).map_err(|_| bad())?;
        let mech = ScramMechanism::from_name(f[1]).ok_or_else(bad)?;
        let credential = ScramCredential {
            iterations: f[2].parse().map_err(|_| bad())?,
            salt: unb64(f[3]).ok_or_else(bad)?,
            stored_key: unb64(f[4]).ok_or_else(bad)?,
            server_key: unb64(f[5]).ok_or_else(bad)?,
        };
        out.insert((user, mech), credential);
    }
    Ok(out)
}

impl ScramStore {
    /// Load the credentials from the data dir (none when the file does not exist).
    pub fn open(store: Arc<Store>) -> Result<ScramStore, StorageError> {
        let creds = match store.read_checkpoint(SCRAM_CHECKPOINT)? {
            Some(data) => decode(&data)?,
            None => BTreeMap::new(),
        };
        Ok(ScramStore {
            store,
            creds: RwLock::new(creds),
            write: parking_lot::Mutex::new(()),
        })
    }

    pub fn lookup(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.creds
            .read()
            .get(&(user.to_string(), mechanism))
            .cloned()
    }

    pub fn contains(&self, user: &str, mechanism: ScramMechanism) -> bool {
        self.creds
            .read()
            .contains_key(&(user.to_string(), mechanism))
    }

    /// Every user with at least one credential, with (mechanism, iterations) pairs.
    pub fn users(&self) -> BTreeMap<String, Vec<(ScramMechanism, i32)>> {
        let mut out: BTreeMap<String, Vec<(ScramMechanism, i32)>> = BTreeMap::new();
        for ((user, mech), c) in self.creds.read().iter() {
            out.entry(user.clone())
                .or_default()
                .push((*mech, c.iterations));
        }
        out
    }

    /// Apply validated changes: persisted first (atomically), then visible.
    /// Blocking (fsync): call off the async workers.
    pub fn apply(&self, changes: &[CredentialChange]) -> Result<(), StorageError> {
        if changes.is_empty() {
            return Ok(());
        }
        let _w = self.write.lock();
        let mut next = self.creds.read().clone();
        for change in changes {
            match change {
                CredentialChange::Delete { user, mechanism } => {
                    next.remove(&(user.clone(), *mechanism));
                }
                CredentialChange::Upsert {
                    user,
                    mechanism,
                    credential,
                } => {
                    next.insert((user.clone(), *mechanism), credential.clone());
                }
            }
        }
        self.store
            .write_checkpoint(SCRAM_CHECKPOINT, &encode(&next))?;
        *self.creds.write() = next;
        Ok(())
    }
}

/// The credential Kafka stores for an upsertion: stored and server keys derived
/// from the salted password the client sent.
pub fn credential_from_salted_password(
    mechanism: ScramMechanism,
    salt: &[u8],
    salted_password: &[u8],
    iterations: i32,
) -> ScramCredential {
    let client_key = scram::hmac(mechanism, salted_password, b"Client Key");
    ScramCredential {
        salt: salt.to_vec(),
        stored_key: scram::hash(mechanism, &client_key),
        server_key: scram::hmac(mechanism, salted_password, b"Server Key"),
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BTreeMap<(String, ScramMechanism), ScramCredential> {
        let mut m = BTreeMap::new();
        m.insert(
            ("alice smith".to_string(), ScramMechanism::Sha512),
            credential_from_salted_password(ScramMechanism::Sha512, b"salt", b"pw", 4096),
        );
        m
    }

    #[test]
    fn encoding_round_trips_and_detects_damage() {
        let data = encode(&sample());
        assert_eq!(decode(&data).unwrap(), sample());
        let mut damaged = data.clone();
        damaged[30] ^= 1;
        assert!(decode(&damaged).is_err());
        assert!(decode(&data[..data.len() - 3]).is_err());
    }

    #[test]
    fn changes_persist_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let s = ScramStore::open(store.clone()).unwrap();
        let cred = credential_from_salted_password(ScramMechanism::Sha256, b"s", b"p", 8192);
        s.apply(&[CredentialChange::Upsert {
            user: "bob".into(),
            mechanism: ScramMechanism::Sha256,
            credential: cred.clone(),
        }])
        .unwrap();
        assert_eq!(s.lookup("bob", ScramMechanism::Sha256), Some(cred.clone()));
        let again = ScramStore::open(store.clone()).unwrap();
        assert_eq!(again.lookup("bob", ScramMechanism::Sha256), Some(cred));
        again
            .apply(&[CredentialChange::Delete {
                user: "bob".into(),
                mechanism: ScramMechanism::Sha256,
            }])
            .unwrap();
        assert!(ScramStore::open(store.clone()).unwrap().users().is_empty());
        store.close().unwrap();
    }
}
