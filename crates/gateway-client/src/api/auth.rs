//! `/auth/*`: logging in, the caller, users, API keys and the audit log (gateways started
//! with `--auth`).

use gateway_core::api::{
    ApiKeyInfo, AuditPage, CreateApiKey, CreateUser, CreatedApiKey, LoginRequest, Me,
    TokenResponse, UpdateUser, UserInfo,
};
use serde::Deserialize;
use serde_json::Value;

use crate::{GatewayClient, Result};

#[derive(Deserialize)]
struct Users {
    users: Vec<UserInfo>,
}

#[derive(Deserialize)]
struct ApiKeys {
    api_keys: Vec<ApiKeyInfo>,
}

/// Filters of [`GatewayClient::audit`]; every given one must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// `user:NAME` or `key:ID`.
    pub actor: Option<String>,
    /// e.g. `login`, `user.create`, `api_key.revoke`, `instance.register`, `authz.deny`.
    pub action: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// The object acted on.
    pub target: Option<String>,
    /// At or after this Unix time (seconds).
    pub since: Option<i64>,
    /// Before this Unix time (seconds).
    pub until: Option<i64>,
    /// At most this many entries (the gateway's default is 100).
    pub limit: Option<u64>,
}

impl GatewayClient {
    /// Logs in with a user name and password and returns the token. Build a client with
    /// [`bearer_token`](crate::GatewayClientBuilder::bearer_token) to use it.
    ///
    /// Fails with [`is_unauthorized`](crate::Error::is_unauthorized) for wrong
    /// credentials and [`is_rate_limited`](crate::Error::is_rate_limited) after too many
    /// failures.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenResponse> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        self.post(&["auth", "login"], &body).await
    }

    /// Who the client's credentials stand for, with the effective scopes.
    pub async fn me(&self) -> Result<Me> {
        self.get(&["auth", "me"]).await
    }

    /// Creates a user (admins).
    pub async fn create_user(&self, user: &CreateUser) -> Result<UserInfo> {
        self.post(&["auth", "users"], user).await
    }

    /// Every user (admins).
    pub async fn users(&self) -> Result<Vec<UserInfo>> {
        let list: Users = self.get(&["auth", "users"]).await?;
        Ok(list.users)
    }

    /// One user (admins, or the user itself).
    pub async fn user(&self, username: &str) -> Result<UserInfo> {
        self.get(&["auth", "users", username]).await
    }

    /// Changes a user (admins); its existing tokens stop working.
    pub async fn update_user(&self, username: &str, update: &UpdateUser) -> Result<UserInfo> {
        self.patch(&["auth", "users", username], update).await
    }

    /// Deletes a user and its keys (admins).
    pub async fn delete_user(&self, username: &str) -> Result<Value> {
        self.delete(&["auth", "users", username]).await
    }

    /// Creates an API key; the answer holds the key, shown only this once.
    pub async fn create_api_key(&self, key: &CreateApiKey) -> Result<CreatedApiKey> {
        self.post(&["auth", "api-keys"], key).await
    }

    /// The caller's keys; admins get everybody's, or `owner`'s.
    pub async fn api_keys(&self, owner: Option<&str>) -> Result<Vec<ApiKeyInfo>> {
        let list: ApiKeys = self
            .get_query(
                &["auth", "api-keys"],
                &[("owner", owner.map(str::to_owned))],
            )
            .await?;
        Ok(list.api_keys)
    }

    /// Revokes a key (the caller's own; admins: any).
    pub async fn revoke_api_key(&self, id: &str) -> Result<ApiKeyInfo> {
        self.delete(&["auth", "api-keys", id]).await
    }

    /// Audit log entries, newest first (admins).
    pub async fn audit(&self, query: &AuditQuery) -> Result<AuditPage> {
        let params = [
            ("actor", query.actor.clone()),
            ("action", query.action.clone()),
            ("outcome", query.outcome.clone()),
            ("target", query.target.clone()),
            ("since", query.since.map(|v| v.to_string())),
            ("until", query.until.map(|v| v.to_string())),
            ("limit", query.limit.map(|v| v.to_string())),
        ];
        self.get_query(&["auth", "audit"], &params).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::test_server::{Canned, client, serve_one};

    use super::*;

    #[tokio::test]
    async fn login_posts_json_and_returns_the_token() {
        let body = r#"{"access_token":"eyJ.x.y","token_type":"bearer","expires_in":3600}"#;
        let (url, server) = serve_one(Canned::json("200 OK", body)).await;
        let token = client(&url).login("alice", "pw-pw-pw-pw-pw").await.unwrap();
        assert_eq!(
            (token.access_token.as_str(), token.expires_in),
            ("eyJ.x.y", 3600)
        );
        let request = server.await.unwrap().remove(0);
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/auth/login")
        );
        assert_eq!(
            request.json(),
            json!({"username": "alice", "password": "pw-pw-pw-pw-pw"})
        );
    }

    #[tokio::test]
    async fn key_listing_sends_the_owner_filter() {
        let (url, server) = serve_one(Canned::json("200 OK", r#"{"api_keys":[],"count":0}"#)).await;
        assert!(client(&url).api_keys(Some("bob")).await.unwrap().is_empty());
        let request = server.await.unwrap().remove(0);
        assert_eq!(request.path, "/auth/api-keys?owner=bob");
    }

    #[tokio::test]
    async fn audit_sends_only_given_filters() {
        let (url, server) = serve_one(Canned::json("200 OK", r#"{"events":[],"count":0}"#)).await;
        let query = AuditQuery {
            action: Some("login".into()),
            limit: Some(5),
            ..AuditQuery::default()
        };
        assert_eq!(client(&url).audit(&query).await.unwrap().count, 0);
        let request = server.await.unwrap().remove(0);
        assert_eq!(request.path, "/auth/audit?action=login&limit=5");
    }

    #[tokio::test]
    async fn forbidden_and_unauthorized_are_recognised() {
        let body = r#"{"error":"insufficient_scope","detail":"missing scope `admin`"}"#;
        let (url, _server) = serve_one(Canned::json("403 Forbidden", body)).await;
        let err = client(&url).users().await.unwrap_err();
        assert!(err.is_forbidden() && !err.is_unauthorized());
        assert_eq!(err.code(), Some("insufficient_scope"));
        let (url, _server) = serve_one(
            Canned::json(
                "429 Too Many Requests",
                r#"{"error":"rate_limited","detail":"x"}"#,
            )
            .header("Retry-After", "7"),
        )
        .await;
        let err = client(&url).me().await.unwrap_err();
        assert!(err.is_rate_limited());
        assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
    }
}
