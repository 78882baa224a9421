//! The denial log: every denied authorization is logged (tracing, info) once a
//! minute per principal, resource and operation, as Kafka's authorizer audit
//! log line, so that a client retrying in a loop does not flood the log.

use super::index::Verdict;
use super::model::{AclOperation, Caller, ResourceType};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a logged denial silences the same one.
pub const DENIAL_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Remembered denials before old ones are forgotten.
const MAX_REMEMBERED: usize = 10_000;

type Key = (String, String, ResourceType, String, AclOperation);

/// When each denial was last logged (touched only on denials).
#[derive(Debug, Default)]
pub struct DenialLog {
    last: Mutex<HashMap<Key, Instant>>,
}

impl DenialLog {
    /// Log this denial unless the same one was logged within the last minute.
    /// Returns whether it was logged.
    pub fn denied(
        &self,
        caller: &Caller,
        op: AclOperation,
        rt: ResourceType,
        name: &str,
        verdict: Verdict,
    ) -> bool {
        let now = Instant::now();
        let key = (
            caller.principal_type.to_string(),
            caller.principal_name.to_string(),
            rt,
            name.to_string(),
            op,
        );
        {
            let mut last = self.last.lock();
            if let Some(at) = last.get(&key) {
                if now.duration_since(*at) < DENIAL_LOG_INTERVAL {
                    return false;
                }
            }
            if last.len() >= MAX_REMEMBERED {
                last.retain(|_, at| now.duration_since(*at) < DENIAL_LOG_INTERVAL);
            }
            last.insert(key, now);
        }
        let rule = match verdict {
            Verdict::Deny => "MatchingAcl(DENY)",
            _ => "DefaultDeny",
        };
        tracing::info!("{}", line(caller, op, rt, name, rule));
        true
    }
}

/// Kafka's authorizer audit line for a denial; the request by its own name
/// (StreamsGroupHeartbeat, not the API standing in for it in the pipeline).
fn line(caller: &Caller, op: AclOperation, rt: ResourceType, name: &str, rule: &str) -> String {
    let api = crate::api_names::api_name(caller.api).unwrap_or_else(|| caller.api.to_string());
    format!(
        "Principal = {}:{} is Denied operation = {op} from host = {} on resource = {rt}:{name} \
         for request = {api} based on rule {rule}",
        caller.principal_type, caller.principal_name, caller.host,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_denial_is_logged_once_a_minute() {
        let log = DenialLog::default();
        let c = Caller {
            principal_type: "User",
            principal_name: "bob",
            host: "127.0.0.1".parse().unwrap(),
            api: kafka_protocol::messages::ApiKey::Produce as i16,
        };
        let (w, t) = (AclOperation::Write, ResourceType::Topic);
        assert!(log.denied(&c, w, t, "x", Verdict::NoMatch));
        assert!(!log.denied(&c, w, t, "x", Verdict::NoMatch));
        assert!(log.denied(&c, AclOperation::Read, t, "x", Verdict::NoMatch));
        assert!(log.denied(&c, w, t, "y", Verdict::NoMatch));
        let alice = Caller {
            principal_name: "alice",
            ..c
        };
        assert!(log.denied(&alice, w, t, "x", Verdict::NoMatch));
    }

    #[test]
    fn the_line_names_the_request_by_its_own_key() {
        let c = Caller {
            principal_type: "User",
            principal_name: "bob",
            host: "127.0.0.1".parse().unwrap(),
            api: 88,
        };
        let l = line(
            &c,
            AclOperation::Read,
            ResourceType::Group,
            "app",
            "DefaultDeny",
        );
        assert_eq!(
            l,
            "Principal = User:bob is Denied operation = READ from host = 127.0.0.1 on \
             resource = GROUP:app for request = StreamsGroupHeartbeat based on rule DefaultDeny"
        );
        let produce = Caller {
            api: kafka_protocol::messages::ApiKey::Produce as i16,
            ..c
        };
        let l = line(
            &produce,
            AclOperation::Write,
            ResourceType::Topic,
            "t",
            "DefaultDeny",
        );
        assert!(l.contains("for request = Produce based on"), "{l}");
    }
}
