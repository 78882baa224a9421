//! The client-quota configs in the data dir, `weir-client-quotas.checkpoint`:
//! a text file written atomically (temp file, fsync, rename) with a CRC-32
//! trailer checked on load, like `weir-scram-credentials.checkpoint`. One line
//! per (entity, key): the entity's components as `type:name` (name in base64,
//! `*` for the default entity) joined by `,`, the key, the value.

use super::entity::Entity;
use super::Configs;
use std::collections::BTreeMap;
use weir_storage::StorageError;

/// The file in the data dir.
pub const QUOTA_CHECKPOINT: &str = "weir-client-quotas.checkpoint";
const HEADER: &str = "weir-client-quotas v1";

fn corrupt(reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        path: QUOTA_CHECKPOINT.into(),
        reason: reason.into(),
    }
}

fn b64(d: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn unb64(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    String::from_utf8(bytes).ok()
}

pub fn encode(configs: &Configs) -> Vec<u8> {
    let mut text = format!("{HEADER}\n");
    for (entity, values) in configs {
        let e: Vec<String> = entity
            .0
            .iter()
            .map(|(t, n)| {
                let name = n
                    .as_deref()
                    .map_or_else(|| "*".to_string(), |n| b64(n.as_bytes()));
                format!("{}:{name}", b64(t.as_bytes()))
            })
            .collect();
        for (key, value) in values {
            // `{:?}` of an f64 round-trips exactly
            text.push_str(&format!("{} {key} {value:?}\n", e.join(",")));
        }
    }
    let crc = crc32fast::hash(text.as_bytes());
    text.push_str(&format!("crc32 {crc:08x}\n"));
    text.into_bytes()
}

pub fn decode(data: &[u8]) -> Result<Configs, StorageError> {
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
    let mut out: Configs = BTreeMap::new();
    for line in lines {
        let bad = || corrupt(format!("bad line {line:?}"));
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() != 3 {
            return Err(bad());
        }
        let mut entity = Entity::default();
        for part in f[0].split(',') {
            let (t, n) = part.split_once(':').ok_or_else(bad)?;
            let t = unb64(t).ok_or_else(bad)?;
            let n = match n {
                "*" => None,
                n => Some(unb64(n).ok_or_else(bad)?),
            };
            entity.0.insert(t, n);
        }
        let value: f64 = f[2].parse().map_err(|_| bad())?;
        out.entry(entity)
            .or_default()
            .insert(f[1].to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_detects_damage() {
        let mut c: Configs = BTreeMap::new();
        c.entry(Entity::of(&[
            ("user", Some("alice smith")),
            ("client-id", None),
        ]))
        .or_default()
        .insert("producer_byte_rate".into(), 1024.0);
        c.entry(Entity::of(&[("client-id", Some("c,1:x"))]))
            .or_default()
            .insert("request_percentage".into(), 12.5);
        let data = encode(&c);
        assert_eq!(decode(&data).unwrap(), c);
        let mut damaged = data.clone();
        damaged[30] ^= 1;
        assert!(decode(&damaged).is_err());
        assert!(decode(&data[..data.len() - 3]).is_err());
        assert!(decode(&encode(&BTreeMap::new())).unwrap().is_empty());
    }
}
