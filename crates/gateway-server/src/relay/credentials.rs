//! [`Credentials`]: the `Authorization` header a call's upstream gets, decided per call
//! from the template's `upstream_auth` and the caller, before any instance is tried.
//!
//! `static` and `none` add nothing (the instance's stored headers are what the upstream
//! gets; with `none` none of them is an `Authorization`). `passthrough` forwards the
//! caller's identity-provider token when its verified `aud` names the template's
//! `audience`; `token_exchange` gets a token for the user from the issuer
//! ([`TokenExchanger`], cached). The gateway's own tokens and API keys are never
//! forwarded or exchanged, and the gateway never sends credentials of its own.

use std::sync::Arc;

use gateway_auth::{
    Principal,
    oidc::{ExchangeError, ExchangeRequest, TokenExchanger},
};
use gateway_core::{UpstreamAuth, UpstreamAuthMode};
use http::HeaderValue;

/// Why a call's upstream credentials could not be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CredentialError {
    /// `passthrough` and the caller has no identity-provider token.
    #[error(
        "this template's upstream gets your identity-provider token (upstream_auth \
         passthrough): log in through the identity provider; gateway tokens and API keys \
         are never forwarded"
    )]
    NoToken,
    /// `passthrough` and the caller's token is not for the upstream.
    #[error(
        "your token is not for this template's upstream: its `aud` must include {0:?} \
         (upstream_auth passthrough)"
    )]
    WrongAudience(Box<str>),
    /// `token_exchange` failed.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// `token_exchange` with no exchange client configured (a template stored before
    /// the configuration changed).
    #[error("no OAuth issuer of this gateway is configured for token exchange")]
    NoExchanger,
}

impl CredentialError {
    /// Whether the caller's credentials are the cause (403), else the identity provider
    /// or the configuration (502).
    pub(crate) fn is_caller_error(&self) -> bool {
        match self {
            CredentialError::NoToken | CredentialError::WrongAudience(_) => true,
            CredentialError::Exchange(e) => e.is_caller_error(),
            CredentialError::NoExchanger => false,
        }
    }
}

/// Decides upstream credentials; holds the token exchanger, if configured.
#[derive(Default)]
pub(crate) struct Credentials {
    exchanger: Option<Arc<TokenExchanger>>,
}

impl Credentials {
    pub(crate) fn new(exchanger: Option<Arc<TokenExchanger>>) -> Self {
        Self { exchanger }
    }

    /// The `Authorization` to send for a call of `caller` (`None`: authentication off)
    /// to `template`'s upstream; `None` when the stored headers stand.
    pub(crate) async fn authorization(
        &self,
        template: &str,
        auth: &UpstreamAuth,
        caller: Option<&Principal>,
    ) -> Result<Option<HeaderValue>, CredentialError> {
        let token = match auth.mode() {
            UpstreamAuthMode::None | UpstreamAuthMode::Static => return Ok(None),
            UpstreamAuthMode::Passthrough => {
                let held = caller
                    .and_then(Principal::external_token)
                    .ok_or(CredentialError::NoToken)?;
                let audience = auth.audience().unwrap_or_default();
                if !held.audiences().iter().any(|a| a == audience) {
                    return Err(CredentialError::WrongAudience(audience.into()));
                }
                held.secret().clone()
            }
            UpstreamAuthMode::TokenExchange => {
                let exchanger = self
                    .exchanger
                    .as_ref()
                    .ok_or(CredentialError::NoExchanger)?;
                let caller = caller.ok_or(ExchangeError::NoSubjectToken)?;
                let request = ExchangeRequest {
                    template,
                    issuer: auth.issuer().unwrap_or_default(),
                    audience: auth.audience().unwrap_or_default(),
                    resource: auth.resource(),
                    scope: auth.scope(),
                };
                exchanger.token(caller, &request).await?
            }
        };
        // Both kinds of token were checked to be visible ASCII.
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| CredentialError::NoToken)?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}
