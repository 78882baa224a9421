//! One client connection: read a frame, decode it, route it through the
//! dispatch table, write the response. Requests on a connection are handled one
//! at a time and answered in order (as Kafka does: it mutes a connection while a
//! request is in flight), while the client may pipeline many requests.
//!
//! Only broken framing (or an undecodable request) closes the connection; all
//! Kafka-level errors travel in responses.

use crate::codec::{self, HeaderPrefix};
use crate::connection::{write_frame, FrameReader};
use crate::dispatch::{self, RequestContext};
use crate::handlers::api_versions;
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;

/// What to do after a request.
enum Outcome {
    Respond(Vec<Bytes>),
    NoResponse,
    Close(String),
}

/// Serve one connection until the client closes it, framing breaks, or the
/// broker shuts down (after the request in flight is answered).
pub async fn serve(state: Arc<BrokerState>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let connection_id = state.next_connection_id();
    let max_frame = state.settings.i64("socket.request.max.bytes") as usize;
    let (rd, wr) = stream.into_split();
    let mut reader = FrameReader::new(rd, max_frame);
    let mut writer = BufWriter::with_capacity(64 * 1024, wr);
    loop {
        let frame = tokio::select! {
            biased;
            _ = state.shutting_down() => break,
            f = reader.read_frame() => f,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                eprintln!("weir: closing connection from {peer}: {e}");
                break;
            }
        };
        match process(&state, frame, peer, connection_id).await {
            Outcome::Respond(parts) => {
                if write_frame(&mut writer, &parts).await.is_err() || writer.flush().await.is_err()
                {
                    break;
                }
            }
            Outcome::NoResponse => {}
            Outcome::Close(reason) => {
                eprintln!("weir: closing connection from {peer}: {reason}");
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
}

async fn process(
    state: &Arc<BrokerState>,
    frame: Bytes,
    peer: SocketAddr,
    connection_id: u64,
) -> Outcome {
    let prefix = match codec::peek_header(&frame) {
        Ok(p) => p,
        Err(e) => return Outcome::Close(e.to_string()),
    };
    let Ok(api_key) = ApiKey::try_from(prefix.api_key) else {
        return Outcome::Close(format!("unknown api key {}", prefix.api_key));
    };
    let Some(spec) = dispatch::lookup(api_key) else {
        return Outcome::Close(format!("unsupported api {api_key:?}"));
    };
    if !(spec.min_version..=spec.max_version).contains(&prefix.api_version) {
        if api_key == ApiKey::ApiVersions {
            return unsupported_api_versions(prefix);
        }
        return Outcome::Close(format!(
            "unsupported version {} of {api_key:?}",
            prefix.api_version
        ));
    }
    let (header, body) = match codec::decode_request(frame, api_key, prefix.api_version) {
        Ok(x) => x,
        Err(e) => return Outcome::Close(e.to_string()),
    };
    let ctx = RequestContext {
        api_key,
        api_version: prefix.api_version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_ref().map(|c| c.to_string()),
        peer,
        connection_id,
    };
    match (spec.handle)(state.clone(), ctx, body).await {
        Ok(Some(resp)) => encode(prefix, api_key, &resp),
        Ok(None) => Outcome::NoResponse,
        Err(e) => Outcome::Close(format!("{api_key:?} handler failed: {e}")),
    }
}

fn encode(prefix: HeaderPrefix, api_key: ApiKey, resp: &ResponseKind) -> Outcome {
    match codec::encode_response(prefix.correlation_id, api_key, prefix.api_version, resp) {
        Ok(parts) => Outcome::Respond(parts),
        Err(e) => Outcome::Close(e.to_string()),
    }
}

/// ApiVersions at a version we do not implement: UNSUPPORTED_VERSION with the v0
/// body (and our version table), so the client retries with a version we know.
fn unsupported_api_versions(prefix: HeaderPrefix) -> Outcome {
    let resp = ResponseKind::ApiVersions(api_versions::unsupported_version_response());
    match codec::encode_response(prefix.correlation_id, ApiKey::ApiVersions, 0, &resp) {
        Ok(parts) => Outcome::Respond(parts),
        Err(e) => Outcome::Close(e.to_string()),
    }
}
