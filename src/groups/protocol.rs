//! Reading the `consumer` embedded protocol of classic groups (the opaque
//! metadata a consumer sends in JoinGroup): the coordinator needs the
//! subscribed topics for OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC check and
//! for offset expiry.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

/// Topics named in a ConsumerProtocolSubscription (any version 0-3); empty if
/// the metadata does not parse.
pub fn subscription_topics(metadata: &Bytes) -> Vec<String> {
    parse_subscription_topics(metadata).unwrap_or_default()
}

/// Topics named in a ConsumerProtocolSubscription; `None` if the metadata does
/// not parse (offset expiry then treats the subscriptions as unknown, as Kafka does).
pub fn parse_subscription_topics(metadata: &Bytes) -> Option<Vec<String>> {
    let mut buf = metadata.clone();
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16().min(3);
    ConsumerProtocolSubscription::decode(&mut buf, version)
        .ok()
        .map(|sub| sub.topics.iter().map(|t| t.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    #[test]
    fn reads_topics_of_a_v1_subscription_and_tolerates_garbage() {
        let sub = ConsumerProtocolSubscription::default().with_topics(vec![
            StrBytes::from_static_str("a"),
            StrBytes::from_static_str("b"),
        ]);
        let mut out = bytes::BytesMut::new();
        out.put_i16(1);
        sub.encode(&mut out, 1).unwrap();
        assert_eq!(
            subscription_topics(&out.freeze()),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(subscription_topics(&Bytes::from_static(&[0, 1, 0xff])).is_empty());
        assert_eq!(
            parse_subscription_topics(&Bytes::from_static(&[0, 1, 0xff])),
            None
        );
    }
}
