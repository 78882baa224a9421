//! [`StandardAuthorizer`]: Kafka's StandardAuthorizer over weir's ACL store.
//! Super users may do everything; otherwise the ACLs of the resource decide
//! (deny beats allow; a resource with ACLs of which none applies is denied);
//! a resource without any ACL is allowed only with
//! `allow.everyone.if.no.acl.found`. The ACLs are read through an
//! [`ArcSwap`] (no lock, no allocation per check) and changed by
//! [`StandardAuthorizer::create`] / [`StandardAuthorizer::delete`], which
//! persist them (atomic rewrite of [`ACLS_CHECKPOINT`]) before they take effect.

use super::checkpoint::{self, ACLS_CHECKPOINT};
use super::denials::DenialLog;
use super::index::{AclIndex, Request, Verdict};
use super::model::{AclBinding, AclBindingFilter, AclOperation, ResourceType};
use crate::config::Settings;
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use weir_storage::{StorageError, Store};

/// The `authorizer.class.name` values that turn ACLs on.
pub const AUTHORIZER_CLASS_NAMES: &[&str] = &[
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.authorizer.AclAuthorizer",
];

/// Why the ACLs cannot be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    #[error("unsupported authorizer.class.name '{0}' (weir accepts {names})", names = AUTHORIZER_CLASS_NAMES.join(", "))]
    UnknownAuthorizer(String),
    #[error("bad super.users entry '{0}': expected Type:name")]
    BadSuperUser(String),
    #[error("{ACLS_CHECKPOINT} is damaged: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub use super::model::Caller;

/// The ACLs at one moment: the bindings (sorted, no duplicates) and their index.
#[derive(Debug, Default)]
struct Acls {
    bindings: BTreeSet<AclBinding>,
    index: AclIndex,
}

impl Acls {
    fn new(bindings: BTreeSet<AclBinding>) -> Acls {
        let index = AclIndex::build(&bindings);
        Acls { bindings, index }
    }
}

/// Kafka's StandardAuthorizer.
pub struct StandardAuthorizer {
    acls: ArcSwap<Acls>,
    /// `super.users` as (type, name).
    super_users: Vec<(String, String)>,
    allow_if_no_acls: bool,
    /// Where changes are persisted, once the broker has opened its data dir.
    store: OnceLock<Arc<Store>>,
    /// Serializes changes (read, modify, persist, publish).
    changes: Mutex<()>,
    denials: DenialLog,
}

impl std::fmt::Debug for StandardAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardAuthorizer")
            .field("acls", &self.acls.load().bindings.len())
            .field("super_users", &self.super_users)
            .field("allow_if_no_acls", &self.allow_if_no_acls)
            .finish()
    }
}

impl StandardAuthorizer {
    /// The authorizer `authorizer.class.name` asks for (`None` when it is empty:
    /// no authorization, as Kafka without an authorizer).
    pub fn from_settings(settings: &Settings) -> Result<Option<StandardAuthorizer>, AclError> {
        let class = settings.str("authorizer.class.name").trim();
        if class.is_empty() {
            return Ok(None);
        }
        if !AUTHORIZER_CLASS_NAMES.contains(&class) {
            return Err(AclError::UnknownAuthorizer(class.to_string()));
        }
        StandardAuthorizer::new(
            settings.str("super.users"),
            settings.bool("allow.everyone.if.no.acl.found"),
        )
        .map(Some)
    }

    /// An authorizer without ACLs; `super_users` as Kafka's `super.users`
    /// (`User:alice;User:bob`).
    pub fn new(super_users: &str, allow_if_no_acls: bool) -> Result<StandardAuthorizer, AclError> {
        let super_users = super_users
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.split_once(':')
                    .map(|(t, n)| (t.to_string(), n.to_string()))
                    .ok_or_else(|| AclError::BadSuperUser(s.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(StandardAuthorizer {
            acls: ArcSwap::from_pointee(Acls::default()),
            super_users,
            allow_if_no_acls,
            store: OnceLock::new(),
            changes: Mutex::new(()),
            denials: DenialLog::default(),
        })
    }

    /// Load the ACLs persisted in `store`'s data dir; later changes are saved there.
    pub fn attach(&self, store: Arc<Store>) -> Result<(), AclError> {
        let _guard = self.changes.lock();
        if let Some(data) = store.read_checkpoint(ACLS_CHECKPOINT)? {
            let loaded = checkpoint::decode(&data).map_err(AclError::Corrupt)?;
            let mut bindings = self.acls.load().bindings.clone();
            bindings.extend(loaded);
            self.acls.store(Arc::new(Acls::new(bindings)));
        }
        let _ = self.store.set(store);
        Ok(())
    }

    fn is_super_user(&self, t: &str, n: &str) -> bool {
        self.super_users.iter().any(|(st, sn)| st == t && sn == n)
    }

    /// May `caller` do `op` on the resource `rt`/`name`? A denial is logged
    /// (once a minute per principal, resource and operation) when `log_denial`.
    pub fn authorize(
        &self,
        caller: &Caller,
        op: AclOperation,
        rt: ResourceType,
        name: &str,
        log_denial: bool,
    ) -> bool {
        if self.is_super_user(caller.principal_type, caller.principal_name) {
            return true;
        }
        let req = Request {
            principal_type: caller.principal_type,
            principal_name: caller.principal_name,
            host: caller.host,
            operation: op,
        };
        let verdict = self.acls.load().index.verdict(&req, rt, name);
        let allowed = match verdict {
            Verdict::Allow => true,
            Verdict::NoAcls => self.allow_if_no_acls,
            Verdict::Deny | Verdict::NoMatch => false,
        };
        if !allowed && log_denial {
            self.denials.denied(caller, op, rt, name, verdict);
        }
        allowed
    }

    /// Kafka's `authorizeByResourceType`: may `caller` do `op` on some resource
    /// of type `rt` (e.g. WRITE on some topic, for an idempotent producer
    /// without IDEMPOTENT_WRITE on the cluster)?
    pub fn authorize_any(&self, caller: &Caller, op: AclOperation, rt: ResourceType) -> bool {
        if self.authorize(caller, op, rt, "hardcode", false) {
            return true;
        }
        let req = Request {
            principal_type: caller.principal_type,
            principal_name: caller.principal_name,
            host: caller.host,
            operation: op,
        };
        self.acls.load().index.any_resource_allows(&req, rt)
    }

    /// Add bindings (already validated; existing ones are kept once). Persisted
    /// before they take effect; blocking (disk).
    pub fn create(&self, new: &[AclBinding]) -> Result<(), AclError> {
        let _guard = self.changes.lock();
        let mut bindings = self.acls.load().bindings.clone();
        let before = bindings.len();
        bindings.extend(new.iter().cloned());
        if bindings.len() != before {
            self.publish(bindings)?;
        }
        Ok(())
    }

    /// Remove every binding matched by each filter; the removed bindings per
    /// filter (a binding matched by several filters is reported for each).
    /// Persisted before it takes effect; blocking (disk).
    pub fn delete(&self, filters: &[AclBindingFilter]) -> Result<Vec<Vec<AclBinding>>, AclError> {
        let _guard = self.changes.lock();
        let current = self.acls.load();
        let matched: Vec<Vec<AclBinding>> = filters
            .iter()
            .map(|f| {
                current
                    .bindings
                    .iter()
                    .filter(|b| f.matches(b))
                    .cloned()
                    .collect()
            })
            .collect();
        if matched.iter().any(|m| !m.is_empty()) {
            let mut bindings = current.bindings.clone();
            for b in matched.iter().flatten() {
                bindings.remove(b);
            }
            self.publish(bindings)?;
        }
        Ok(matched)
    }

    /// The bindings `filter` matches, sorted.
    pub fn describe(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        self.acls
            .load()
            .bindings
            .iter()
            .filter(|b| filter.matches(b))
            .cloned()
            .collect()
    }

    fn publish(&self, bindings: BTreeSet<AclBinding>) -> Result<(), AclError> {
        if let Some(store) = self.store.get() {
            store.write_checkpoint(ACLS_CHECKPOINT, &checkpoint::encode(bindings.iter()))?;
        }
        self.acls.store(Arc::new(Acls::new(bindings)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::{PatternType, PermissionType};
    use kafka_protocol::messages::ApiKey;

    fn caller(name: &str) -> Caller<'_> {
        Caller {
            principal_type: "User",
            principal_name: name,
            host: "127.0.0.1".parse().unwrap(),
            api: ApiKey::Metadata as i16,
        }
    }

    fn allow(rt: ResourceType, name: &str, principal: &str, op: AclOperation) -> AclBinding {
        AclBinding {
            resource_type: rt,
            name: name.into(),
            pattern_type: PatternType::Literal,
            principal: principal.into(),
            host: "*".into(),
            operation: op,
            permission: PermissionType::Allow,
        }
    }

    #[test]
    fn super_users_and_the_no_acl_default() {
        let a = StandardAuthorizer::new("User:admin; User:root", false).unwrap();
        let t = ResourceType::Topic;
        assert!(a.authorize(&caller("admin"), AclOperation::Write, t, "x", true));
        assert!(!a.authorize(&caller("bob"), AclOperation::Write, t, "x", true));
        let open = StandardAuthorizer::new("", true).unwrap();
        assert!(open.authorize(&caller("bob"), AclOperation::Write, t, "x", true));
        open.create(&[allow(t, "x", "User:alice", AclOperation::Read)])
            .unwrap();
        // The topic has ACLs now: none applies to bob.
        assert!(!open.authorize(&caller("bob"), AclOperation::Write, t, "x", true));
        assert!(open.authorize(&caller("bob"), AclOperation::Write, t, "y", true));
        assert!(matches!(
            StandardAuthorizer::new("admin", false),
            Err(AclError::BadSuperUser(_))
        ));
    }

    #[test]
    fn authorizer_class_name_turns_acls_on_with_kafkas_class_names_only() {
        use crate::config::Source;
        let mut s = Settings::default();
        assert!(StandardAuthorizer::from_settings(&s).unwrap().is_none());
        for class in AUTHORIZER_CLASS_NAMES {
            s.set("authorizer.class.name", class, Source::Cli).unwrap();
            assert!(StandardAuthorizer::from_settings(&s).unwrap().is_some());
        }
        s.set("authorizer.class.name", "com.example.Mine", Source::Cli)
            .unwrap();
        assert!(matches!(
            StandardAuthorizer::from_settings(&s),
            Err(AclError::UnknownAuthorizer(_))
        ));
    }

    #[test]
    fn create_describe_delete_take_effect_at_once() {
        let a = StandardAuthorizer::new("", false).unwrap();
        let t = ResourceType::Topic;
        let b = allow(t, "x", "User:alice", AclOperation::Read);
        a.create(&[b.clone(), b.clone()]).unwrap();
        assert!(a.authorize(&caller("alice"), AclOperation::Read, t, "x", true));
        assert_eq!(a.describe(&AclBindingFilter::any()), vec![b.clone()]);
        let removed = a
            .delete(&[AclBindingFilter::any(), AclBindingFilter::any()])
            .unwrap();
        assert_eq!(removed, vec![vec![b.clone()], vec![b]]);
        assert!(!a.authorize(&caller("alice"), AclOperation::Read, t, "x", true));
    }

    #[test]
    fn acls_persist_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let b = allow(ResourceType::Group, "g", "User:*", AclOperation::Read);
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            let a = StandardAuthorizer::new("", false).unwrap();
            a.attach(store.clone()).unwrap();
            a.create(std::slice::from_ref(&b)).unwrap();
            store.close().unwrap();
        }
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let a = StandardAuthorizer::new("", false).unwrap();
        a.attach(store.clone()).unwrap();
        assert_eq!(a.describe(&AclBindingFilter::any()), vec![b]);
        store.close().unwrap();
    }
}
