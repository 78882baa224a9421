//! DescribeUserScramCredentials (key 50), v0: which SCRAM mechanisms (and
//! iteration counts) each user has, never the credentials. Kafka's rules
//! (`ScramImage.describe`): no users named = every user with a credential; a
//! named user without one is RESOURCE_NOT_FOUND, a user named twice
//! DUPLICATE_RESOURCE, each with Kafka's message.

use super::sb;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    ApiKey, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The DescribeUserScramCredentials handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeUserScramCredentials;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = DescribeUserScramCredentialsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        _ctx: RequestContext,
        req: DescribeUserScramCredentialsRequest,
    ) -> HandlerResult<DescribeUserScramCredentialsResponse> {
        let known = state.scram.users();
        // user -> named more than once
        let mut wanted: BTreeMap<String, bool> = BTreeMap::new();
        match req.users.as_deref() {
            None | Some([]) => {
                for user in known.keys() {
                    wanted.insert(user.clone(), false);
                }
            }
            Some(users) => {
                for u in users {
                    let twice = wanted.contains_key(u.name.as_str());
                    wanted.insert(u.name.to_string(), twice);
                }
            }
        }
        let results = wanted
            .into_iter()
            .map(|(user, twice)| {
                let r = DescribeUserScramCredentialsResult::default().with_user(sb(user.clone()));
                if twice {
                    return r
                        .with_error_code(ResponseError::DuplicateResource.code())
                        .with_error_message(Some(sb(format!(
                            "Cannot describe SCRAM credentials for the same user twice in a single request: {user}"
                        ))));
                }
                match known.get(&user) {
                    Some(creds) => r.with_credential_infos(
                        creds
                            .iter()
                            .map(|(m, iterations)| {
                                CredentialInfo::default()
                                    .with_mechanism(m.type_id())
                                    .with_iterations(*iterations)
                            })
                            .collect(),
                    ),
                    None => r
                        .with_error_code(ResponseError::ResourceNotFound.code())
                        .with_error_message(Some(sb(format!(
                            "Attempt to describe a user credential that does not exist: {user}"
                        )))),
                }
            })
            .collect();
        Ok(Some(
            DescribeUserScramCredentialsResponse::default().with_results(results),
        ))
    }
}
