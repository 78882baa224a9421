//! AlterUserScramCredentials (key 51), v0: create, replace and delete SCRAM
//! credentials (what `kafka-configs --alter --entity-type users --add-config
//! 'SCRAM-SHA-512=[password=...]'` sends: the client salts and hashes the
//! password, the broker stores salt, stored key, server key and iterations).
//! Kafka's controller rules (`ScramControlManager`): an empty user name, an
//! unknown mechanism, too few (< 4096) or too many (> 16384) iterations, a user
//! altered twice in one request, and deleting a credential that does not exist
//! are per-user errors; the rest is applied at once (persisted, then visible to
//! new authentications).

use super::sb;
use crate::handler::{blocking, Handler, HandlerError, HandlerResult, RequestContext};
use crate::security::sasl::scram::{ScramMechanism, MAX_ITERATIONS, MIN_ITERATIONS};
use crate::security::scram_store::{credential_from_salted_password, CredentialChange};
use crate::state::BrokerState;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey,
};
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The AlterUserScramCredentials handler.
pub struct Api;

type UserError = (ResponseError, &'static str);

fn check(user: &str, mechanism: i8) -> Result<ScramMechanism, UserError> {
    if user.is_empty() {
        return Err((
            ResponseError::UnacceptableCredential,
            "Username must not be empty",
        ));
    }
    ScramMechanism::from_type(mechanism).ok_or((
        ResponseError::UnsupportedSaslMechanism,
        "Unknown SCRAM mechanism",
    ))
}

const TWICE: UserError = (
    ResponseError::DuplicateResource,
    "A user credential cannot be altered twice in the same request",
);

impl Handler for Api {
    const KEY: ApiKey = ApiKey::AlterUserScramCredentials;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = AlterUserScramCredentialsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        _ctx: RequestContext,
        req: AlterUserScramCredentialsRequest,
    ) -> HandlerResult<AlterUserScramCredentialsResponse> {
        let store = state.scram.clone();
        let mut errors: BTreeMap<String, UserError> = BTreeMap::new();
        let mut deletions: Vec<(String, ScramMechanism)> = Vec::new();
        let mut upserts: Vec<CredentialChange> = Vec::new();
        for d in &req.deletions {
            let user = d.name.to_string();
            if errors.contains_key(&user) {
                continue;
            }
            if let Some(i) = deletions.iter().position(|(u, _)| *u == user) {
                deletions.remove(i);
                errors.insert(user, TWICE);
                continue;
            }
            match check(&user, d.mechanism) {
                Err(e) => {
                    errors.insert(user, e);
                }
                Ok(m) if !store.contains(&user, m) => {
                    errors.insert(
                        user,
                        (
                            ResponseError::ResourceNotFound,
                            "Attempt to delete a user credential that does not exist",
                        ),
                    );
                }
                Ok(m) => deletions.push((user, m)),
            }
        }
        for u in &req.upsertions {
            let user = u.name.to_string();
            if errors.contains_key(&user) {
                continue;
            }
            let upserted = upserts
                .iter()
                .position(|c| matches!(c, CredentialChange::Upsert { user: x, .. } if *x == user));
            let deleted = deletions.iter().position(|(x, _)| *x == user);
            if upserted.is_some() || deleted.is_some() {
                if let Some(i) = upserted {
                    upserts.remove(i);
                }
                if let Some(i) = deleted {
                    deletions.remove(i);
                }
                errors.insert(user, TWICE);
                continue;
            }
            let m = match check(&user, u.mechanism) {
                Ok(m) => m,
                Err(e) => {
                    errors.insert(user, e);
                    continue;
                }
            };
            if u.iterations < MIN_ITERATIONS {
                errors.insert(
                    user,
                    (ResponseError::UnacceptableCredential, "Too few iterations"),
                );
                continue;
            }
            if u.iterations > MAX_ITERATIONS {
                errors.insert(
                    user,
                    (ResponseError::UnacceptableCredential, "Too many iterations"),
                );
                continue;
            }
            upserts.push(CredentialChange::Upsert {
                credential: credential_from_salted_password(
                    m,
                    &u.salt,
                    &u.salted_password,
                    u.iterations,
                ),
                user,
                mechanism: m,
            });
        }
        let mut changes: Vec<CredentialChange> = deletions
            .iter()
            .map(|(user, mechanism)| CredentialChange::Delete {
                user: user.clone(),
                mechanism: *mechanism,
            })
            .collect();
        changes.extend(upserts);
        let mut results: Vec<AlterUserScramCredentialsResult> = changes
            .iter()
            .map(|c| {
                let user = match c {
                    CredentialChange::Delete { user, .. }
                    | CredentialChange::Upsert { user, .. } => user.clone(),
                };
                AlterUserScramCredentialsResult::default().with_user(sb(user))
            })
            .collect();
        let applied = blocking(move || store.apply(&changes)).await?;
        if let Err(e) = applied {
            return Err(HandlerError::Internal(format!(
                "cannot persist SCRAM credentials: {e}"
            )));
        }
        for (user, (error, message)) in errors {
            results.push(
                AlterUserScramCredentialsResult::default()
                    .with_user(sb(user))
                    .with_error_code(error.code())
                    .with_error_message(Some(sb(message))),
            );
        }
        Ok(Some(
            AlterUserScramCredentialsResponse::default().with_results(results),
        ))
    }
}
