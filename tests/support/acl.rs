//! Test-only principals for the ACL tests (until authentication lands): an
//! authorizer wrapper that takes the principal from the request's client id
//! (`User:<client id>`) and delegates to a [`StandardAuthorizer`].

use std::sync::Arc;
use weir::acl::{AclOperation, ResourceType, StandardAuthorizer};
use weir::pipeline::{Authorizer, Pipeline, Principal, Rejection, RequestContext};

/// The principal is `User:<client id>`.
pub struct ByClientId(pub Arc<StandardAuthorizer>);

impl ByClientId {
    /// A pipeline whose authorizer has `super_users` and no ACLs yet (the
    /// broker loads its persisted ones at start-up).
    pub fn pipeline(super_users: &str) -> Pipeline {
        let acls = StandardAuthorizer::new(super_users, false).unwrap();
        Pipeline::default().with_authorizer(Arc::new(ByClientId(Arc::new(acls))))
    }

    fn ctx(ctx: &RequestContext) -> RequestContext {
        let mut c = ctx.clone();
        c.principal = Principal::new("User", ctx.client_id.clone().unwrap_or_default());
        c
    }
}

impl Authorizer for ByClientId {
    fn authorize(&self, ctx: &RequestContext) -> Result<(), Rejection> {
        Authorizer::authorize(&*self.0, &Self::ctx(ctx))
    }

    fn allows(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        rt: ResourceType,
        name: &str,
        log: bool,
    ) -> bool {
        self.0.allows(&Self::ctx(ctx), op, rt, name, log)
    }

    fn allows_any(&self, ctx: &RequestContext, op: AclOperation, rt: ResourceType) -> bool {
        self.0.allows_any(&Self::ctx(ctx), op, rt)
    }

    fn acls(&self) -> Option<&StandardAuthorizer> {
        Some(&self.0)
    }
}
