//! The vocabulary of ACLs with Kafka's wire codes: resource types, pattern
//! types, operations, permission types; a binding (resource pattern + entry)
//! and a binding filter (what DescribeAcls and DeleteAcls select with), with
//! Kafka's validation of a binding to create and Kafka's filter matching
//! (`AclBindingFilter.matches`, `ResourcePatternFilter.matches`).

use std::fmt;
use std::net::IpAddr;

/// The resource name that matches every name of its type (a LITERAL `*`).
pub const WILDCARD: &str = "*";
/// The only name of the CLUSTER resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// The principal that matches every principal.
pub const WILDCARD_PRINCIPAL: &str = "User:*";

macro_rules! coded_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant,)*];

            /// The value for a wire code; unknown codes are `Unknown` (as Kafka's `fromCode`).
            pub fn from_code(code: i8) -> $name {
                match code {
                    $($code => $name::$variant,)*
                    _ => $name::Unknown,
                }
            }

            /// The wire code.
            pub fn code(self) -> i8 {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            /// Kafka's name (`TOPIC`, `PREFIXED`, `DESCRIBE_CONFIGS`, `ALLOW`).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

coded_enum!(
    /// Kafka's `ResourceType`.
    ResourceType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Topic = 2 => "TOPIC",
        Group = 3 => "GROUP",
        Cluster = 4 => "CLUSTER",
        TransactionalId = 5 => "TRANSACTIONAL_ID",
        DelegationToken = 6 => "DELEGATION_TOKEN",
        User = 7 => "USER",
    }
);

coded_enum!(
    /// Kafka's `PatternType` (`Any` and `Match` only in filters).
    PatternType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Match = 2 => "MATCH",
        Literal = 3 => "LITERAL",
        Prefixed = 4 => "PREFIXED",
    }
);

coded_enum!(
    /// Kafka's `AclOperation` (`Any` only in filters).
    AclOperation {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        All = 2 => "ALL",
        Read = 3 => "READ",
        Write = 4 => "WRITE",
        Create = 5 => "CREATE",
        Delete = 6 => "DELETE",
        Alter = 7 => "ALTER",
        Describe = 8 => "DESCRIBE",
        ClusterAction = 9 => "CLUSTER_ACTION",
        DescribeConfigs = 10 => "DESCRIBE_CONFIGS",
        AlterConfigs = 11 => "ALTER_CONFIGS",
        IdempotentWrite = 12 => "IDEMPOTENT_WRITE",
        CreateTokens = 13 => "CREATE_TOKENS",
        DescribeTokens = 14 => "DESCRIBE_TOKENS",
        TwoPhaseCommit = 15 => "TWO_PHASE_COMMIT",
    }
);

coded_enum!(
    /// Kafka's `AclPermissionType` (`Any` only in filters).
    PermissionType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Deny = 2 => "DENY",
        Allow = 3 => "ALLOW",
    }
);

impl AclOperation {
    /// Whether an ALLOW ACL for `self` also allows `requested` (Kafka's
    /// StandardAuthorizer: READ, WRITE, DELETE and ALTER imply DESCRIBE;
    /// ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies everything). A DENY
    /// ACL denies only its own operation (or everything, for ALL).
    pub fn allow_implies(self, requested: AclOperation) -> bool {
        use AclOperation::*;
        self == All
            || self == requested
            || (requested == Describe && matches!(self, Read | Write | Delete | Alter))
            || (requested == DescribeConfigs && self == AlterConfigs)
    }
}

/// One ACL: who (principal, host) may or may not (permission) do what
/// (operation) on which resources (type, name, pattern type).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern_type: PatternType,
    /// `Type:name`, e.g. `User:alice` or `User:*`.
    pub principal: String,
    /// An IP address or `*`.
    pub host: String,
    pub operation: AclOperation,
    pub permission: PermissionType,
}

impl AclBinding {
    /// Kafka's checks of a binding to create (`AclApis.handleCreateAcls`, then
    /// `AclControlManager.validateNewAcl`); the message goes with INVALID_REQUEST.
    pub fn validate(&self) -> Result<(), String> {
        if self.resource_type == ResourceType::Cluster && self.name != CLUSTER_NAME {
            return Err(format!(
                "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
            ));
        }
        if self.name.is_empty() {
            return Err("Invalid empty resource name".into());
        }
        if matches!(
            self.resource_type,
            ResourceType::Unknown | ResourceType::Any
        ) {
            return Err(format!("Invalid resourceType {}", self.resource_type));
        }
        if !matches!(
            self.pattern_type,
            PatternType::Literal | PatternType::Prefixed
        ) {
            return Err(format!("Invalid patternType {}", self.pattern_type));
        }
        if matches!(self.operation, AclOperation::Unknown | AclOperation::Any) {
            return Err(format!("Invalid operation {}", self.operation));
        }
        if !matches!(
            self.permission,
            PermissionType::Allow | PermissionType::Deny
        ) {
            return Err(format!("Invalid permissionType {}", self.permission));
        }
        if !self.principal.contains(':') {
            return Err(format!(
                "Could not parse principal from `{}` (no colon is present separating the principal type from the principal name)",
                self.principal
            ));
        }
        Ok(())
    }

    /// The principal's type and name (`User`, `alice`).
    pub fn principal_parts(&self) -> (&str, &str) {
        self.principal
            .split_once(':')
            .unwrap_or((self.principal.as_str(), ""))
    }
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(pattern=ResourcePattern(resourceType={}, name={}, patternType={}), entry=(principal={}, host={}, operation={}, permissionType={}))",
            self.resource_type,
            self.name,
            self.pattern_type,
            self.principal,
            self.host,
            self.operation,
            self.permission
        )
    }
}

/// What DescribeAcls and DeleteAcls select bindings with (`None` = any value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    pub resource_type: ResourceType,
    pub name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission: PermissionType,
}

impl AclBindingFilter {
    /// The filter that matches every binding.
    pub fn any() -> AclBindingFilter {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: PermissionType::Any,
        }
    }

    /// Why Kafka refuses this filter (`AclControlManager.validateFilter`), if it does.
    pub fn validate(&self) -> Result<(), String> {
        if self.resource_type == ResourceType::Unknown || self.pattern_type == PatternType::Unknown
        {
            return Err("Unknown patternFilter.".into());
        }
        if self.operation == AclOperation::Unknown || self.permission == PermissionType::Unknown {
            return Err("Unknown entryFilter.".into());
        }
        Ok(())
    }

    /// Kafka's `AclBindingFilter.matches`.
    pub fn matches(&self, b: &AclBinding) -> bool {
        self.matches_pattern(b) && self.matches_entry(b)
    }

    fn matches_pattern(&self, b: &AclBinding) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != b.resource_type {
            return false;
        }
        if !matches!(self.pattern_type, PatternType::Any | PatternType::Match)
            && self.pattern_type != b.pattern_type
        {
            return false;
        }
        let Some(name) = &self.name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == b.pattern_type {
            return *name == b.name;
        }
        // MATCH: every binding that would apply to a resource called `name`.
        match b.pattern_type {
            PatternType::Literal => *name == b.name || b.name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&b.name),
            _ => false,
        }
    }

    fn matches_entry(&self, b: &AclBinding) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && (self.operation == AclOperation::Any || self.operation == b.operation)
            && (self.permission == PermissionType::Any || self.permission == b.permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn binding(rt: ResourceType, name: &str, pt: PatternType) -> AclBinding {
        AclBinding {
            resource_type: rt,
            name: name.into(),
            pattern_type: pt,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission: PermissionType::Allow,
        }
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_unknown() {
        for op in AclOperation::ALL_VALUES {
            assert_eq!(AclOperation::from_code(op.code()), *op);
        }
        assert_eq!(AclOperation::TwoPhaseCommit.code(), 15);
        assert_eq!(ResourceType::from_code(99), ResourceType::Unknown);
        assert_eq!(PatternType::Prefixed.code(), 4);
        assert_eq!(PermissionType::Allow.code(), 3);
    }

    #[test]
    fn allow_implies_describe_and_describe_configs_as_kafka() {
        use AclOperation::*;
        for op in [Read, Write, Delete, Alter, Describe, All] {
            assert!(op.allow_implies(Describe), "{op}");
        }
        for op in [
            Create,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
        ] {
            assert!(!op.allow_implies(Describe), "{op}");
        }
        assert!(AlterConfigs.allow_implies(DescribeConfigs));
        assert!(!Alter.allow_implies(DescribeConfigs));
        assert!(!Read.allow_implies(Write));
    }

    #[test]
    fn validation_messages_are_kafkas() {
        let mut b = binding(ResourceType::Cluster, "x", PatternType::Literal);
        assert_eq!(
            b.validate().unwrap_err(),
            "The only valid name for the CLUSTER resource is kafka-cluster"
        );
        b.name = CLUSTER_NAME.into();
        assert!(b.validate().is_ok());
        let mut b = binding(ResourceType::Topic, "", PatternType::Literal);
        assert_eq!(b.validate().unwrap_err(), "Invalid empty resource name");
        b.name = "t".into();
        b.pattern_type = PatternType::Match;
        assert_eq!(b.validate().unwrap_err(), "Invalid patternType MATCH");
        b.pattern_type = PatternType::Prefixed;
        b.principal = "alice".into();
        assert!(b
            .validate()
            .unwrap_err()
            .starts_with("Could not parse principal"));
        b.principal = "User:alice".into();
        b.operation = AclOperation::Any;
        assert_eq!(b.validate().unwrap_err(), "Invalid operation ANY");
    }

    #[test]
    fn match_filters_select_what_applies_to_a_name() {
        let lit = binding(ResourceType::Topic, "orders", PatternType::Literal);
        let wild = binding(ResourceType::Topic, "*", PatternType::Literal);
        let pre = binding(ResourceType::Topic, "ord", PatternType::Prefixed);
        let other = binding(ResourceType::Topic, "pay", PatternType::Prefixed);
        let mut f = AclBindingFilter::any();
        f.name = Some("orders".into());
        f.pattern_type = PatternType::Match;
        assert!(f.matches(&lit) && f.matches(&wild) && f.matches(&pre));
        assert!(!f.matches(&other));
        f.pattern_type = PatternType::Any;
        assert!(f.matches(&lit) && !f.matches(&wild) && !f.matches(&pre));
        f.pattern_type = PatternType::Prefixed;
        f.name = Some("ord".into());
        assert!(f.matches(&pre) && !f.matches(&lit));
        let mut f = AclBindingFilter::any();
        f.resource_type = ResourceType::Group;
        assert!(!f.matches(&lit));
        f.resource_type = ResourceType::Any;
        f.principal = Some("User:bob".into());
        assert!(!f.matches(&lit));
    }
}

/// Who is asking, for [`super::StandardAuthorizer::authorize`].
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub principal_type: &'a str,
    pub principal_name: &'a str,
    pub host: IpAddr,
    /// The api key of the request that asks, as on the wire (for the denial log).
    pub api: i16,
}
