//! Random identifiers: topic ids (UUIDs) and the cluster id, from the standard
//! library's randomly keyed hasher (no extra dependency, not for cryptography).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    h.finish()
}

/// A random (version 4) UUID that is neither nil nor Kafka's reserved metadata id.
pub fn random_uuid() -> Uuid {
    loop {
        let v = ((random_u64() as u128) << 64) | random_u64() as u128;
        // Set version 4 and the RFC 4122 variant.
        let v = (v & !(0xF << 76)) | (0x4 << 76);
        let v = (v & !(0x3 << 62)) | (0x2 << 62);
        let id = Uuid::from_u128(v);
        if !id.is_nil() && id.as_u128() != 1 {
            return id;
        }
    }
}

/// A Kafka-style cluster id: a UUID as 22 characters of URL-safe base64.
pub fn random_cluster_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits = random_uuid().as_u128();
    (0..22)
        .map(|i| ALPHABET[((bits >> (i * 6)) & 63) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_v4() {
        let a = random_uuid();
        let b = random_uuid();
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(random_cluster_id().len(), 22);
    }
}
