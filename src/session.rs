//! One client connection: read a frame, decode its header, build the request
//! context, run the request pipeline's stages ([`crate::pipeline`]) around the
//! handler the dispatch table routes it to, write the response, tell the
//! observer. Requests on a connection are handled one at a time and answered in
//! order (as Kafka does: it mutes a connection while a request is in flight),
//! while the client may pipeline many requests.
//!
//! Only broken framing, an undecodable request or an authentication refusal
//! closes the connection; all Kafka-level errors travel in responses.

use crate::codec::{self, HeaderPrefix};
use crate::connection::{write_frame, FrameReader};
use crate::dispatch::{self, Table};
use crate::handlers::api_versions;
use crate::pipeline::{Principal, RequestContext, RequestOutcome, RequestRecord, RequestTimings};
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;

/// What to do after a request.
enum Outcome {
    Respond(Vec<Bytes>),
    NoResponse,
    Close(String),
}

/// Who is at the other end of a connection (the per-request context starts from it).
struct Peer {
    id: u64,
    addr: SocketAddr,
    listener: Arc<str>,
    principal: Principal,
}

/// A request that reached the pipeline, for its observer.
struct Observed {
    api_key: ApiKey,
    api_version: i16,
    outcome: RequestOutcome,
    read_at: Instant,
    handler_start: Instant,
    handler_end: Instant,
}

/// Serve one connection (accepted on listener `listener`) until the client
/// closes it, framing breaks, or the broker shuts down (after the request in
/// flight is answered).
pub async fn serve(
    state: Arc<BrokerState>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: Arc<str>,
) {
    let _ = stream.set_nodelay(true);
    let peer = Peer {
        id: state.next_connection_id(),
        addr: peer,
        listener,
        principal: Principal::anonymous(),
    };
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
                tracing::warn!("closing connection from {}: {e}", peer.addr);
                break;
            }
        };
        let read_at = Instant::now();
        let (outcome, mut observed) = process(&state, frame, &peer, read_at).await;
        let keep_open = match outcome {
            Outcome::Respond(parts) => {
                write_frame(&mut writer, &parts).await.is_ok() && writer.flush().await.is_ok()
            }
            Outcome::NoResponse => true,
            Outcome::Close(reason) => {
                tracing::warn!("closing connection from {}: {reason}", peer.addr);
                if let Some(o) = observed.as_mut() {
                    o.outcome = RequestOutcome::Failed;
                }
                false
            }
        };
        if let Some(o) = observed {
            let sent_at = Instant::now();
            state.pipeline.observe(&RequestRecord {
                api_key: o.api_key,
                api_version: o.api_version,
                outcome: o.outcome,
                timings: RequestTimings {
                    queued: o.handler_start - o.read_at,
                    handled: o.handler_end - o.handler_start,
                    sent: sent_at - o.handler_end,
                },
            });
        }
        if !keep_open {
            break;
        }
    }
    let _ = writer.shutdown().await;
}

/// The request pipeline around one request: header, context, stages, handler,
/// response encoding. The observer is told about it (by the caller, once the
/// response is written) when it got as far as the stages.
async fn process(
    state: &Arc<BrokerState>,
    mut frame: Bytes,
    peer: &Peer,
    read_at: Instant,
) -> (Outcome, Option<Observed>) {
    let prefix = match codec::peek_header(&frame) {
        Ok(p) => p,
        Err(e) => return (Outcome::Close(e.to_string()), None),
    };
    let Ok(api_key) = ApiKey::try_from(prefix.api_key) else {
        return (
            Outcome::Close(format!("unknown api key {}", prefix.api_key)),
            None,
        );
    };
    if !dispatch::supports(api_key, prefix.api_version) {
        if api_key == ApiKey::ApiVersions {
            return (unsupported_api_versions(prefix), None);
        }
        let reason = match dispatch::lookup(api_key) {
            None => format!("unsupported api {api_key:?}"),
            Some(_) => format!("unsupported version {} of {api_key:?}", prefix.api_version),
        };
        return (Outcome::Close(reason), None);
    }
    let request_bytes = frame.len();
    let header = match codec::decode_header(&mut frame, api_key, prefix.api_version) {
        Ok(h) => h,
        Err(e) => return (Outcome::Close(e.to_string()), None),
    };
    let ctx = RequestContext {
        api_key,
        api_version: prefix.api_version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_ref().map(|c| c.to_string()),
        peer: peer.addr,
        connection_id: peer.id,
        listener: peer.listener.clone(),
        principal: peer.principal.clone(),
    };
    let admission = state.pipeline.admit(&ctx, request_bytes);
    let mut observed = Observed {
        api_key,
        api_version: prefix.api_version,
        outcome: match &admission {
            Ok(_) => RequestOutcome::Ok,
            Err(why) => RequestOutcome::Rejected(why.error),
        },
        read_at,
        handler_start: Instant::now(),
        handler_end: read_at,
    };
    let outcome = match admission {
        Err(why) if why.closes_connection() => Outcome::Close(why.to_string()),
        admission => match dispatch::call(state.clone(), ctx, frame, admission).await {
            Ok(Some(resp)) => encode(prefix, api_key, &resp),
            Ok(None) => Outcome::NoResponse,
            Err(e) => Outcome::Close(e.to_string()),
        },
    };
    observed.handler_end = Instant::now();
    (outcome, Some(observed))
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
    let resp = ResponseKind::ApiVersions(api_versions::unsupported_version_response::<Table>());
    match codec::encode_response(prefix.correlation_id, ApiKey::ApiVersions, 0, &resp) {
        Ok(parts) => Outcome::Respond(parts),
        Err(e) => Outcome::Close(e.to_string()),
    }
}
