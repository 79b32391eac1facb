//! Logins: user name and password → a token, throttled before the password is checked.
//!
//! Order of work for `POST /auth/login`:
//! 1. [`Throttles::begin_login`](crate::throttles::Throttles) reserves a slot in the
//!    (user, address), address and user buckets (in Redis when the fleet shares it), or
//!    refuses at once
//!    ([`Error::Throttled`], 429): attempts in flight count, so parallel guesses are
//!    refused instead of all being checked.
//! 2. The [`HashingGate`](crate::hashing::HashingGate) admits the bcrypt check, or
//!    refuses at once when too many are queued ([`Error::Busy`], 503).
//! 3. The outcome goes back to the buckets: a failure counts everywhere; a success
//!    clears the (user, address) bucket only.

use std::net::IpAddr;

use gateway_core::Username;

use crate::{
    Authenticator, Secret,
    error::{Error, Result},
    password,
    throttle::LoginOutcome,
};

/// A successful login.
#[derive(Debug)]
pub struct IssuedToken {
    /// The JWT.
    pub token: Secret,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// Who logged in.
    pub username: Username,
}

impl Authenticator {
    /// Checks a user name and password and issues a token.
    ///
    /// Failures are [`Error::InvalidCredentials`] whatever the reason (unknown user,
    /// wrong password, disabled user), and cost the same bcrypt time. Too many failures
    /// for this name from this address, from this address for any name, or for this name
    /// from anywhere make further attempts wait ([`Error::Throttled`]) before any
    /// password is checked; see [`crate::ThrottlePolicy`] for the numbers. When too many
    /// password checks are already queued the answer is [`Error::Busy`].
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<IssuedToken> {
        let attempt = self
            .throttles
            .begin_login(username, client)
            .await
            .map_err(|retry_after| Error::Throttled { retry_after })?;
        let user = match Username::parse(username) {
            Ok(_) => self.store.get_user(username).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(u) if u.active => u.password_hash.clone(),
            _ => password::dummy_hash(self.config.bcrypt_cost),
        };
        let matches = password.len() <= password::MAX_BYTES
            && self.hashing.verify(password.to_owned(), hash).await?;
        match user {
            Some(user) if user.active && matches => {
                attempt.finish(LoginOutcome::Succeeded).await;
                let (token, expires_in) = self.jwt.issue(&user)?;
                Ok(IssuedToken {
                    token: Secret::new(token),
                    expires_in,
                    username: user.username,
                })
            }
            _ => {
                attempt.finish(LoginOutcome::Failed).await;
                Err(Error::InvalidCredentials)
            }
        }
    }
}
