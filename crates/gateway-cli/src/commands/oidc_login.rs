//! `mcpp gateway login --oidc ISSUER`: logs in through the gateway's identity provider
//! and stores its access token where the password login stores the gateway's token.
//!
//! The gateway's protected resource metadata says which issuers it trusts, its resource
//! identifier and the scopes to request; the issuer's metadata says where to go. Then
//! either the authorization code grant with PKCE, the code arriving on a loopback
//! listener (`http://127.0.0.1:PORT/callback`, RFC 8252; the authorization URL is printed
//! and, unless `--no-browser`, opened), or with `--device` the device authorization grant
//! (RFC 8628: a URL and a code to enter on any device). A refresh token, if issued, is
//! kept (mode 0600) next to the token and used by the other verbs when the token is about
//! to expire.

use std::{
    io::Write,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, anyhow, bail};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gateway_client::oauth::{
    AuthorizationRequest, DevicePoll, OAuthClient, Pkce, ServerMetadata, TokenResponse,
    random_token, redirect_params,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::credentials::{self, OidcSession};
use crate::args::LoginArgs;

/// How long the user has to finish logging in.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest request head accepted on the loopback listener.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// A stored token this close to its expiry is refreshed before use.
const REFRESH_MARGIN_SECS: u64 = 60;

/// Logs in through `issuer`.
pub(crate) async fn run(args: &LoginArgs, issuer: &str) -> anyhow::Result<()> {
    let gateway = &args.client.gateway_url;
    let oauth = OAuthClient::new()?;
    let resource = oauth.protected_resource(gateway).await.with_context(|| {
        format!(
            "cannot read the gateway's protected resource metadata \
             ({gateway}/.well-known/oauth-protected-resource): is the gateway running with \
             OAuth issuers (MCP_GATEWAY_OAUTH_ISSUERS)?"
        )
    })?;
    if !resource.authorization_servers.iter().any(|s| s == issuer) {
        bail!(
            "the gateway at {gateway} does not trust {issuer}; it trusts: {}",
            resource.authorization_servers.join(", ")
        );
    }
    let metadata = oauth
        .discover(issuer)
        .await
        .with_context(|| format!("cannot read the metadata of {issuer}"))?;
    let mut scopes = resource.scopes_supported.clone();
    if metadata
        .scopes_supported
        .iter()
        .any(|s| s == "offline_access")
    {
        scopes.push("offline_access".to_owned());
    }
    let scope = scopes.join(" ");
    let flow = Flow {
        oauth: &oauth,
        metadata: &metadata,
        client_id: &args.oidc_client_id,
        scope: &scope,
        resource: &resource.resource,
    };
    let tokens = if args.device {
        flow.device().await?
    } else {
        flow.browser(!args.no_browser).await?
    };
    let path = credentials::store_token(&tokens.access_token)?;
    credentials::store_session(&OidcSession {
        issuer: issuer.to_owned(),
        token_endpoint: metadata.token_endpoint.clone(),
        client_id: args.oidc_client_id.clone(),
        resource: resource.resource.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_at: tokens.expires_in.map(|s| unix_now().saturating_add(s)),
    })?;
    let subject = subject_of(&tokens.access_token);
    if args.client.json {
        crate::output::print_json(&serde_json::json!({
            "issuer": issuer,
            "subject": subject,
            "expires_in": tokens.expires_in,
            "refreshable": tokens.refresh_token.is_some(),
            "token_file": path,
        }))
    } else {
        println!(
            "logged in through {issuer}{}{}; token stored in {}",
            subject.map(|s| format!(" as {s}")).unwrap_or_default(),
            tokens
                .expires_in
                .map(|s| format!(" (token valid for {})", crate::output::seconds(s)))
                .unwrap_or_default(),
            path.display()
        );
        Ok(())
    }
}

/// One login's parameters.
struct Flow<'a> {
    oauth: &'a OAuthClient,
    metadata: &'a ServerMetadata,
    client_id: &'a str,
    scope: &'a str,
    resource: &'a str,
}

impl Flow<'_> {
    /// The authorization code grant with PKCE and a loopback redirect.
    async fn browser(&self, open: bool) -> anyhow::Result<TokenResponse> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on 127.0.0.1 for the login redirect")?;
        let port = listener.local_addr()?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let pkce = Pkce::new()?;
        let state = random_token()?;
        let url = self.oauth.authorization_url(
            self.metadata,
            &AuthorizationRequest {
                client_id: self.client_id,
                redirect_uri: &redirect_uri,
                scope: self.scope,
                resource: self.resource,
                state: &state,
                code_challenge: &pkce.challenge,
            },
        )?;
        println!("Open this URL in a browser to log in:\n{url}");
        let _ = std::io::stdout().flush();
        if open {
            open_browser(&url);
        }
        let params = tokio::time::timeout(LOGIN_TIMEOUT, wait_for_redirect(&listener))
            .await
            .map_err(|_| anyhow!("no login within {} s", LOGIN_TIMEOUT.as_secs()))??;
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        // RFC 9207: the answer must come from the issuer the request went to.
        match get("iss") {
            Some(iss) if iss != self.metadata.issuer => {
                bail!(
                    "the login answer names issuer {iss:?}, not {:?}: refused",
                    self.metadata.issuer
                )
            }
            None if self.metadata.authorization_response_iss_parameter_supported => {
                bail!("the login answer lacks the `iss` its issuer promises: refused")
            }
            _ => {}
        }
        if get("state") != Some(state.as_str()) {
            bail!("the login answer does not match this login (state): refused");
        }
        if let Some(error) = get("error") {
            bail!(
                "the identity provider refused: {error}{}",
                get("error_description")
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
        }
        let code = get("code").ok_or_else(|| anyhow!("the login answer has no code"))?;
        Ok(self
            .oauth
            .exchange_code(
                self.metadata,
                self.client_id,
                code,
                &pkce.verifier,
                &redirect_uri,
                self.resource,
            )
            .await?)
    }

    /// The device authorization grant.
    async fn device(&self) -> anyhow::Result<TokenResponse> {
        let start = self
            .oauth
            .device_authorization(self.metadata, self.client_id, self.scope, self.resource)
            .await?;
        println!(
            "To log in, open {} and enter the code {}",
            start.verification_uri, start.user_code
        );
        if let Some(complete) = &start.verification_uri_complete {
            println!("(or open {complete})");
        }
        let _ = std::io::stdout().flush();
        let mut interval = Duration::from_secs(start.interval.unwrap_or(5).max(1));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(start.expires_in);
        loop {
            tokio::time::sleep(interval).await;
            if tokio::time::Instant::now() > deadline {
                bail!("the device code expired before the login was completed");
            }
            match self
                .oauth
                .poll_device(
                    self.metadata,
                    self.client_id,
                    &start.device_code,
                    self.resource,
                )
                .await?
            {
                DevicePoll::Pending => {}
                DevicePoll::SlowDown => interval += Duration::from_secs(5),
                DevicePoll::Token(tokens) => return Ok(tokens),
            }
        }
    }
}

/// Serves the loopback listener until the redirect to `/callback` arrives; answers it
/// with a page telling the user to go back to the terminal.
async fn wait_for_redirect(listener: &TcpListener) -> anyhow::Result<Vec<(String, String)>> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let Ok(Ok(target)) =
            tokio::time::timeout(Duration::from_secs(10), request_target(&mut stream)).await
        else {
            continue;
        };
        match redirect_params(&target, "/callback") {
            Some(params) => {
                let failed = params.iter().any(|(k, _)| k == "error");
                let page = if failed {
                    "Login failed: see the terminal."
                } else {
                    "Logged in: you can close this tab and go back to the terminal."
                };
                respond(&mut stream, "200 OK", page).await;
                return Ok(params);
            }
            None => respond(&mut stream, "404 Not Found", "Not found.").await,
        }
    }
}

/// The request target of an HTTP request (`GET /callback?... HTTP/1.1`).
async fn request_target(stream: &mut TcpStream) -> anyhow::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            bail!("bad request");
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Ok(target.to_owned()),
        _ => bail!("not a GET"),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><title>mcpp</title><p>{text}</p>");
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Asks the desktop to open `url` (best effort: the URL is printed anyway).
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Before a verb uses the stored token: if it came from `login --oidc` and expires
/// within a minute, gets a new one with the stored refresh token. Problems are warnings
/// (the verb then reports the gateway's answer).
pub(crate) async fn refresh_stored_token() {
    let Ok(Some(mut session)) = credentials::stored_session() else {
        return;
    };
    let Ok(Some(token)) = credentials::stored_token() else {
        return;
    };
    let now = unix_now();
    let expires = session.expires_at.or_else(|| expiry_of(&token));
    if expires.is_none_or(|at| at > now + REFRESH_MARGIN_SECS) {
        return;
    }
    let Some(refresh) = session.refresh_token.clone() else {
        eprintln!(
            "warning: the stored token has expired; log in again (mcpp gateway login --oidc {})",
            session.issuer
        );
        return;
    };
    let refreshed = match OAuthClient::new() {
        Ok(oauth) => {
            oauth
                .refresh(
                    &session.token_endpoint,
                    &session.client_id,
                    &refresh,
                    &session.resource,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match refreshed {
        Ok(tokens) => {
            session.refresh_token = tokens.refresh_token.or(Some(refresh));
            session.expires_at = tokens.expires_in.map(|s| now.saturating_add(s));
            let stored = credentials::store_token(&tokens.access_token)
                .and_then(|_| credentials::store_session(&session));
            if let Err(e) = stored {
                eprintln!("warning: cannot store the refreshed token: {e}");
            }
        }
        Err(e) => eprintln!(
            "warning: cannot refresh the stored token ({e}); log in again (mcpp gateway login --oidc {})",
            session.issuer
        ),
    }
}

/// The `exp` of a JWT (unverified: only to decide when to refresh).
fn expiry_of(token: &str) -> Option<u64> {
    claim(token, "exp")?.as_u64()
}

/// The `sub` of a JWT (unverified: only to say who logged in).
fn subject_of(token: &str) -> Option<String> {
    claim(token, "sub")?.as_str().map(str::to_owned)
}

fn claim(token: &str, name: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(name).cloned()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_without_trusting_them() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice","exp":123}"#);
        let token = format!("h.{payload}.s");
        assert_eq!(subject_of(&token).as_deref(), Some("alice"));
        assert_eq!(expiry_of(&token), Some(123));
        assert_eq!(subject_of("opaque-token"), None);
    }
}
