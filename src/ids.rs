//! Random identifiers: topic ids (UUIDs) and the cluster id, from the `uuid`
//! crate's version-4 generator (the OS's random source).

use uuid::Uuid;

/// A random (version 4) UUID that is neither nil nor Kafka's reserved metadata id.
pub fn random_uuid() -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if !id.is_nil() && id.as_u128() != 1 {
            return id;
        }
    }
}

/// A random id in `1..i32::MAX` (fetch session ids, as Kafka's `newSessionId`).
pub fn random_positive_i32() -> i32 {
    loop {
        let id = (Uuid::new_v4().as_u128() as u32 & 0x7fff_ffff) as i32;
        if id > 0 && id < i32::MAX {
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
