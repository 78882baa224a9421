//! SaslAuthenticate (key 36), v0-2, as a request handler: reached only outside
//! a SASL exchange (a non-SASL listener, or after authentication without a new
//! handshake), where Kafka's `KafkaApis` answers ILLEGAL_SASL_STATE. The
//! exchange itself lives in [`crate::security::sasl`].

use super::sb;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The SaslAuthenticate handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::SaslAuthenticate;
    const VERSIONS: (i16, i16) = (0, 2);
    type Request = SaslAuthenticateRequest;

    async fn handle(
        _state: Arc<BrokerState>,
        _ctx: RequestContext,
        _req: SaslAuthenticateRequest,
    ) -> HandlerResult<SaslAuthenticateResponse> {
        Ok(Some(
            SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code())
                .with_error_message(Some(sb(
                    "SaslAuthenticate request received after successful authentication",
                ))),
        ))
    }
}
