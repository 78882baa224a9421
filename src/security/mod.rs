//! Who a client is: listeners and their security protocols ([`listeners`]),
//! the TLS transport ([`tls`]) with the principal of a client certificate
//! ([`principal`]), SASL authentication ([`sasl`]), the SCRAM mechanisms
//! ([`scram_mechanism`]) and credential store ([`scram_store`]); `weir serve --dev-tls` ([`dev_tls`]).
//!
//! The server builds one [`Listener`] per configured listener at start-up; the
//! session ([`crate::session`]) runs each connection through the listener's
//! TLS handshake and SASL exchange before its requests reach the pipeline, and
//! puts the authenticated principal into every [`crate::pipeline::RequestContext`].
//! What a principal may do is the authorizer's business (the pipeline's
//! `Authorizer` stage), not this module's.

pub mod dev_tls;
pub mod listeners;
pub mod principal;
pub mod sasl;
pub mod scram_mechanism;
pub mod scram_store;
pub mod tls;

use crate::config::Settings;
use listeners::{ListenerSpec, SecurityProtocol};
use std::sync::Arc;

/// A security configuration that cannot work (one line at start-up).
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error(transparent)]
    Listener(#[from] listeners::ListenerError),
    #[error("listener {listener}: {reason}")]
    Config { listener: String, reason: String },
}

/// One listener's security, shared by its connections.
pub struct Listener {
    /// The listener name (e.g. `PLAINTEXT`, `SASL_SSL`): [`crate::pipeline::RequestContext::listener`].
    pub name: Arc<str>,
    pub protocol: SecurityProtocol,
    /// SSL and SASL_SSL: the TLS acceptor (reloaded when its files change).
    pub tls: Option<Arc<tls::TlsListener>>,
    /// SSL: how a client certificate's DN becomes the principal.
    pub principal_mapper: Option<principal::PrincipalMapper>,
    /// SASL_PLAINTEXT and SASL_SSL: mechanisms and their users.
    pub sasl: Option<Arc<sasl::SaslConfig>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.name, self.protocol)
    }
}

impl Listener {
    /// Build the listener's TLS and SASL state from the settings.
    pub fn build(spec: &ListenerSpec, settings: &Settings) -> Result<Listener, SecurityError> {
        let err = |reason: String| SecurityError::Config {
            listener: spec.name.clone(),
            reason,
        };
        let tls = if spec.protocol.is_tls() {
            let s = tls::TlsSettings::from_settings(settings, &spec.name, spec.protocol.is_sasl())
                .map_err(err)?;
            Some(Arc::new(tls::TlsListener::new(s).map_err(err)?))
        } else {
            None
        };
        let principal_mapper = if spec.protocol == SecurityProtocol::Ssl {
            Some(
                principal::PrincipalMapper::parse(
                    settings.listener_str(&spec.name, "ssl.principal.mapping.rules"),
                )
                .map_err(|e| err(format!("ssl.principal.mapping.rules: {e}")))?,
            )
        } else {
            None
        };
        let sasl = if spec.protocol.is_sasl() {
            Some(Arc::new(
                sasl::SaslConfig::from_settings(settings, &spec.name).map_err(err)?,
            ))
        } else {
            None
        };
        Ok(Listener {
            name: spec.name.as_str().into(),
            protocol: spec.protocol,
            tls,
            principal_mapper,
            sasl,
        })
    }
}

/// Where clients of one listener are told to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertisedListener {
    pub name: Arc<str>,
    pub host: String,
    pub port: i32,
}
