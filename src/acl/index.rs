//! The lookup structure the authorizer answers from, rebuilt whenever the ACLs
//! change (rarely) and read without locks or allocation (often: once per topic
//! per produce or fetch request). Per resource type: LITERAL names in a hash map
//! (the wildcard `*` among them) and PREFIXED names in a sorted map walked from
//! the resource name down through its prefixes, as Kafka's StandardAuthorizer
//! walks its sorted set.

use super::model::{AclBinding, AclOperation, PatternType, PermissionType, ResourceType, WILDCARD};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::ops::Bound;

/// Who asks, from where, to do what.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal_type: &'a str,
    pub principal_name: &'a str,
    pub host: IpAddr,
    pub operation: AclOperation,
}

/// What the ACLs of one resource say about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A matching DENY ACL (deny beats allow).
    Deny,
    /// A matching ALLOW ACL and no matching DENY.
    Allow,
    /// ACLs exist for the resource, none matches: denied.
    NoMatch,
    /// No ACL at all for the resource: `allow.everyone.if.no.acl.found` decides.
    NoAcls,
}

#[derive(Debug, Clone)]
enum Host {
    Any,
    Ip(IpAddr),
    /// Not an IP address: never equals a client address (Kafka compares text).
    Never,
}

/// One ACL as the index keeps it.
#[derive(Debug, Clone)]
struct Entry {
    /// `User:*`.
    any_principal: bool,
    principal_type: Box<str>,
    principal_name: Box<str>,
    host: Host,
    operation: AclOperation,
    permission: PermissionType,
}

impl Entry {
    fn new(b: &AclBinding) -> Entry {
        let (t, n) = b.principal_parts();
        Entry {
            any_principal: b.principal == super::model::WILDCARD_PRINCIPAL,
            principal_type: t.into(),
            principal_name: n.into(),
            host: if b.host == WILDCARD {
                Host::Any
            } else {
                b.host.parse().map(Host::Ip).unwrap_or(Host::Never)
            },
            operation: b.operation,
            permission: b.permission,
        }
    }

    fn applies_to(&self, req: &Request) -> bool {
        (self.any_principal
            || (*self.principal_type == *req.principal_type
                && *self.principal_name == *req.principal_name))
            && match self.host {
                Host::Any => true,
                Host::Ip(ip) => ip == req.host,
                Host::Never => false,
            }
    }

    /// Kafka's `StandardAuthorizerData.findResult`: `None` when the ACL does not apply.
    fn result(&self, req: &Request) -> Option<PermissionType> {
        if !self.applies_to(req) {
            return None;
        }
        let op_matches = match self.permission {
            PermissionType::Allow => self.operation.allow_implies(req.operation),
            _ => self.operation == AclOperation::All || self.operation == req.operation,
        };
        op_matches.then_some(self.permission)
    }
}

#[derive(Debug, Default)]
struct TypeIndex {
    literal: HashMap<Box<str>, Vec<Entry>>,
    prefixed: BTreeMap<Box<[u8]>, Vec<Entry>>,
}

/// Folds the verdicts of the ACLs that apply to a resource.
#[derive(Default)]
struct Builder {
    deny: bool,
    allow: bool,
    has_acls: bool,
}

impl Builder {
    /// Returns true once a DENY was found (nothing can change the verdict).
    fn check(&mut self, entries: &[Entry], req: &Request) -> bool {
        self.has_acls |= !entries.is_empty();
        for e in entries {
            match e.result(req) {
                Some(PermissionType::Deny) => {
                    self.deny = true;
                    return true;
                }
                Some(PermissionType::Allow) => self.allow = true,
                _ => {}
            }
        }
        false
    }

    fn verdict(&self) -> Verdict {
        if self.deny {
            Verdict::Deny
        } else if self.allow {
            Verdict::Allow
        } else if self.has_acls {
            Verdict::NoMatch
        } else {
            Verdict::NoAcls
        }
    }
}

/// Every ACL, indexed for [`AclIndex::verdict`].
#[derive(Debug, Default)]
pub struct AclIndex {
    /// By [`ResourceType::code`].
    types: [TypeIndex; 8],
}

fn slot(rt: ResourceType) -> usize {
    (rt.code().max(0) as usize).min(7)
}

impl AclIndex {
    pub fn build<'a>(bindings: impl IntoIterator<Item = &'a AclBinding>) -> AclIndex {
        let mut index = AclIndex::default();
        for b in bindings {
            let t = &mut index.types[slot(b.resource_type)];
            let entry = Entry::new(b);
            match b.pattern_type {
                PatternType::Literal => t
                    .literal
                    .entry(b.name.as_str().into())
                    .or_default()
                    .push(entry),
                PatternType::Prefixed => t
                    .prefixed
                    .entry(b.name.as_bytes().into())
                    .or_default()
                    .push(entry),
                _ => {}
            }
        }
        index
    }

    /// What the ACLs say about `req` on the resource `rt`/`name`: the literal
    /// ACLs of `name`, the PREFIXED ACLs of every prefix of `name`, and the
    /// wildcard ACLs of `rt`. No allocation.
    pub fn verdict(&self, req: &Request, rt: ResourceType, name: &str) -> Verdict {
        let t = &self.types[slot(rt)];
        let mut b = Builder::default();
        if let Some(entries) = t.literal.get(name) {
            if b.check(entries, req) {
                return b.verdict();
            }
        }
        if !t.prefixed.is_empty() && self.check_prefixes(t, &mut b, req, name.as_bytes()) {
            return b.verdict();
        }
        if name != WILDCARD {
            if let Some(entries) = t.literal.get(WILDCARD) {
                b.check(entries, req);
            }
        }
        b.verdict()
    }

    /// Walk down from `name` through the sorted prefixed patterns: the greatest
    /// key <= the bound is either a prefix of `name` (check it, continue below
    /// it) or shares a shorter common prefix with `name` (continue from there).
    fn check_prefixes(&self, t: &TypeIndex, b: &mut Builder, req: &Request, name: &[u8]) -> bool {
        let mut bound = name;
        loop {
            let range = (Bound::Unbounded, Bound::Included(bound));
            let Some((key, entries)) = t.prefixed.range::<[u8], _>(range).next_back() else {
                return false;
            };
            let common = key.iter().zip(name).take_while(|(a, b)| a == b).count();
            if common == key.len() {
                if b.check(entries, req) {
                    return true;
                }
                if common == 0 {
                    return false;
                }
                bound = &name[..common - 1];
                if bound.is_empty() {
                    return false;
                }
            } else {
                if common == 0 {
                    return false;
                }
                bound = &name[..common];
            }
        }
    }

    /// Kafka's `Authorizer.authorizeByResourceType` after its super-user check:
    /// whether some resource of type `rt` could allow `req` (an ALLOW that no
    /// DENY dominates).
    pub fn any_resource_allows(&self, req: &Request, rt: ResourceType) -> bool {
        let t = &self.types[slot(rt)];
        let applies = |e: &Entry| {
            e.applies_to(req) && (e.operation == req.operation || e.operation == AclOperation::All)
        };
        let mut deny_literal = HashSet::new();
        let mut deny_prefixed = HashSet::new();
        let mut allow_literal = Vec::new();
        let mut allow_prefixed = Vec::new();
        let mut wildcard_allow = false;
        for (name, entries) in &t.literal {
            for e in entries.iter().filter(|e| applies(e)) {
                match e.permission {
                    PermissionType::Deny if &**name == WILDCARD => return false,
                    PermissionType::Deny => {
                        deny_literal.insert(name.as_bytes());
                    }
                    PermissionType::Allow if &**name == WILDCARD => wildcard_allow = true,
                    PermissionType::Allow => allow_literal.push(name.as_bytes()),
                    _ => {}
                }
            }
        }
        for (name, entries) in &t.prefixed {
            for e in entries.iter().filter(|e| applies(e)) {
                match e.permission {
                    PermissionType::Deny => {
                        deny_prefixed.insert(&**name);
                    }
                    PermissionType::Allow => allow_prefixed.push(&**name),
                    _ => {}
                }
            }
        }
        if wildcard_allow {
            return true;
        }
        let dominated =
            |allowed: &[u8]| (1..=allowed.len()).any(|i| deny_prefixed.contains(&allowed[..i]));
        allow_literal
            .iter()
            .any(|a| !deny_literal.contains(a) && !dominated(a))
            || allow_prefixed.iter().any(|a| !dominated(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(
        rt: ResourceType,
        name: &str,
        pt: PatternType,
        principal: &str,
        op: AclOperation,
        perm: PermissionType,
    ) -> AclBinding {
        AclBinding {
            resource_type: rt,
            name: name.into(),
            pattern_type: pt,
            principal: principal.into(),
            host: "*".into(),
            operation: op,
            permission: perm,
        }
    }

    fn req(name: &str, op: AclOperation) -> Request<'_> {
        Request {
            principal_type: "User",
            principal_name: name,
            host: "127.0.0.1".parse().unwrap(),
            operation: op,
        }
    }

    use AclOperation::*;
    use PatternType::*;
    use PermissionType::*;
    use ResourceType::*;

    #[test]
    fn literal_prefixed_and_wildcard_acls_apply_deny_beats_allow() {
        let idx = AclIndex::build(&[
            acl(Topic, "orders", Literal, "User:alice", Write, Allow),
            acl(Topic, "pay", Prefixed, "User:alice", Read, Allow),
            acl(Topic, "payments-secret", Literal, "User:alice", Read, Deny),
            acl(Topic, "*", Literal, "User:*", Describe, Allow),
        ]);
        assert_eq!(
            idx.verdict(&req("alice", Write), Topic, "orders"),
            Verdict::Allow
        );
        assert_eq!(
            idx.verdict(&req("alice", Read), Topic, "orders"),
            Verdict::NoMatch
        );
        assert_eq!(
            idx.verdict(&req("alice", Read), Topic, "payments"),
            Verdict::Allow
        );
        assert_eq!(
            idx.verdict(&req("alice", Read), Topic, "pa"),
            Verdict::NoMatch
        );
        assert_eq!(
            idx.verdict(&req("alice", Read), Topic, "payments-secret"),
            Verdict::Deny
        );
        assert_eq!(
            idx.verdict(&req("bob", Describe), Topic, "anything"),
            Verdict::Allow
        );
        assert_eq!(idx.verdict(&req("bob", Read), Group, "g"), Verdict::NoAcls);
        // WRITE implies DESCRIBE for an ALLOW.
        assert_eq!(
            idx.verdict(&req("alice", Describe), Topic, "orders"),
            Verdict::Allow
        );
    }

    #[test]
    fn prefix_walk_finds_every_prefix_among_many_keys() {
        let idx = AclIndex::build(&[
            acl(Topic, "a", Prefixed, "User:u", Read, Allow),
            acl(Topic, "abc", Prefixed, "User:v", Read, Allow),
            acl(Topic, "abd", Prefixed, "User:w", Read, Allow),
            acl(Topic, "abcdz", Prefixed, "User:x", Read, Allow),
            acl(Topic, "b", Prefixed, "User:y", Read, Allow),
        ]);
        for (who, name, expect) in [
            ("u", "abcde", Verdict::Allow),
            ("v", "abcde", Verdict::Allow),
            ("w", "abcde", Verdict::NoMatch),
            ("x", "abcde", Verdict::NoMatch),
            ("x", "abcdzz", Verdict::Allow),
            ("y", "abcde", Verdict::NoMatch),
            ("y", "b", Verdict::Allow),
        ] {
            assert_eq!(
                idx.verdict(&req(who, Read), Topic, name),
                expect,
                "{who} {name}"
            );
        }
        assert_eq!(idx.verdict(&req("u", Read), Topic, "zzz"), Verdict::NoAcls);
    }

    #[test]
    fn deny_denies_only_its_operation_and_deny_all_everything() {
        let idx = AclIndex::build(&[
            acl(Topic, "t", Literal, "User:alice", All, Allow),
            acl(Topic, "t", Literal, "User:alice", Read, Deny),
        ]);
        assert_eq!(idx.verdict(&req("alice", Read), Topic, "t"), Verdict::Deny);
        // A DENY READ does not deny DESCRIBE.
        assert_eq!(
            idx.verdict(&req("alice", Describe), Topic, "t"),
            Verdict::Allow
        );
        let idx = AclIndex::build(&[
            acl(Topic, "t", Literal, "User:alice", Read, Allow),
            acl(Topic, "t", Prefixed, "User:*", All, Deny),
        ]);
        assert_eq!(idx.verdict(&req("alice", Read), Topic, "t"), Verdict::Deny);
    }

    #[test]
    fn hosts_match_by_address_or_wildcard() {
        let mut b = acl(Topic, "t", Literal, "User:alice", Read, Allow);
        b.host = "10.0.0.1".into();
        let idx = AclIndex::build(&[b]);
        assert_eq!(
            idx.verdict(&req("alice", Read), Topic, "t"),
            Verdict::NoMatch
        );
        let mut r = req("alice", Read);
        r.host = "10.0.0.1".parse().unwrap();
        assert_eq!(idx.verdict(&r, Topic, "t"), Verdict::Allow);
    }

    #[test]
    fn by_resource_type_as_kafkas_default_authorizer() {
        let idx = AclIndex::build(&[acl(Topic, "t", Literal, "User:alice", Write, Allow)]);
        assert!(idx.any_resource_allows(&req("alice", Write), Topic));
        assert!(!idx.any_resource_allows(&req("bob", Write), Topic));
        let idx = AclIndex::build(&[
            acl(Topic, "team-a", Literal, "User:alice", Write, Allow),
            acl(Topic, "team", Prefixed, "User:alice", Write, Deny),
        ]);
        assert!(!idx.any_resource_allows(&req("alice", Write), Topic));
        let idx = AclIndex::build(&[
            acl(Topic, "x", Prefixed, "User:alice", Write, Allow),
            acl(Topic, "*", Literal, "User:*", Write, Deny),
        ]);
        assert!(!idx.any_resource_allows(&req("alice", Write), Topic));
    }
}
