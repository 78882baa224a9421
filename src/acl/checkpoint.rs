//! The on-disk format of the ACLs (`weir-acls.checkpoint` in the data dir,
//! replaced atomically by the store on every change): `WACL`, a version byte,
//! a binding count, per binding four codes (resource type, pattern type,
//! operation, permission) and three length-prefixed strings (resource name,
//! principal, host), then a CRC-32 (IEEE) of everything before it.

use super::model::{AclBinding, AclOperation, PatternType, PermissionType, ResourceType};

/// The checkpoint file, relative to the data dir.
pub const ACLS_CHECKPOINT: &str = "weir-acls.checkpoint";

const MAGIC: &[u8; 4] = b"WACL";
const VERSION: u8 = 1;

pub fn encode<'a>(bindings: impl ExactSizeIterator<Item = &'a AclBinding>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + bindings.len() * 48);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(bindings.len() as u32).to_be_bytes());
    for b in bindings {
        out.extend_from_slice(&[
            b.resource_type.code() as u8,
            b.pattern_type.code() as u8,
            b.operation.code() as u8,
            b.permission.code() as u8,
        ]);
        for s in [&b.name, &b.principal, &b.host] {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Inverse of [`encode`]; the reason when the file is damaged.
pub fn decode(data: &[u8]) -> Result<Vec<AclBinding>, String> {
    fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        let (head, rest) = buf.split_at_checked(n).ok_or("truncated")?;
        *buf = rest;
        Ok(head)
    }
    fn string(buf: &mut &[u8]) -> Result<String, String> {
        let len = u32::from_be_bytes(take(buf, 4)?.try_into().unwrap()) as usize;
        String::from_utf8(take(buf, len)?.to_vec()).map_err(|e| e.to_string())
    }
    if data.len() < 13 || &data[..4] != MAGIC {
        return Err("not an ACL checkpoint".into());
    }
    let (body, crc) = data.split_at(data.len() - 4);
    if crc32fast::hash(body).to_be_bytes() != crc {
        return Err("crc mismatch".into());
    }
    if body[4] != VERSION {
        return Err(format!("unknown version {}", body[4]));
    }
    let mut buf = &body[5..];
    let count = u32::from_be_bytes(take(&mut buf, 4)?.try_into().unwrap());
    let mut out = Vec::new();
    for _ in 0..count {
        let codes = take(&mut buf, 4)?;
        out.push(AclBinding {
            resource_type: ResourceType::from_code(codes[0] as i8),
            pattern_type: PatternType::from_code(codes[1] as i8),
            operation: AclOperation::from_code(codes[2] as i8),
            permission: PermissionType::from_code(codes[3] as i8),
            name: string(&mut buf)?,
            principal: string(&mut buf)?,
            host: string(&mut buf)?,
        });
    }
    if !buf.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let b = AclBinding {
            resource_type: ResourceType::Group,
            name: "grüppe with spaces\n".into(),
            pattern_type: PatternType::Prefixed,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission: PermissionType::Deny,
        };
        let data = encode([b.clone()].iter());
        assert_eq!(decode(&data).unwrap(), vec![b]);
        assert_eq!(decode(&encode([].iter())).unwrap(), vec![]);
        let mut bad = data.clone();
        bad[10] ^= 1;
        assert_eq!(decode(&bad).unwrap_err(), "crc mismatch");
        assert!(decode(&data[..data.len() - 1]).is_err());
    }
}
