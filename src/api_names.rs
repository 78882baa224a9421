//! Kafka's names of API keys (`ApiKeys` in CamelCase), for logs and metrics:
//! the codec crate's for the APIs it knows, else those weir answers by hand
//! (the raw APIs of [`crate::dispatch::RAW_APIS`], which reach the stages with
//! a known API standing in for them). No dependencies inside the crate, so that
//! the ACL denial log, the pipeline and the metrics can all name a request.

use kafka_protocol::messages::ApiKey;

/// The name of api key `key`; `None` for a key weir does not know.
pub fn api_name(key: i16) -> Option<String> {
    if let Ok(k) = ApiKey::try_from(key) {
        return Some(format!("{k:?}"));
    }
    let name = match key {
        88 => "StreamsGroupHeartbeat",
        89 => "StreamsGroupDescribe",
        93 => "StreamsGroupTopologyDescriptionUpdate",
        _ => return None,
    };
    Some(name.to_string())
}
