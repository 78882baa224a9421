//! SaslHandshake (key 17), v0-1, as a request handler: reached only where no
//! SASL exchange is running (a non-SASL listener, or an authenticated
//! connection asking with v0), where Kafka's `KafkaApis` answers
//! ILLEGAL_SASL_STATE. The exchange itself lives in [`crate::security::sasl`],
//! below the pipeline, as Kafka's `SaslServerAuthenticator` does.

use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The SaslHandshake handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::SaslHandshake;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = SaslHandshakeRequest;

    async fn handle(
        _state: Arc<BrokerState>,
        _ctx: RequestContext,
        _req: SaslHandshakeRequest,
    ) -> HandlerResult<SaslHandshakeResponse> {
        Ok(Some(
            SaslHandshakeResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code()),
        ))
    }
}
