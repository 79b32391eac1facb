"""The Python `mcp` 2.3 client's OAuth flow against the gateway and an OpenID provider.

    python oauth_client.py SERVER_URL LOGIN TOOL ARGS_JSON

Everything is discovered by the SDK's `OAuthClientProvider` from the gateway's 401: the
`resource_metadata` URL of the `WWW-Authenticate` challenge and its `scope`, the protected
resource metadata (RFC 9728: resource and authorization server), the provider's metadata,
dynamic client registration (RFC 7591), then the authorization code flow with PKCE and the
resource indicator (RFC 8707). The user's browser is played by `redirect_handler`: it opens
the authorization URL, follows the provider's redirects, signs in as LOGIN on the
provider's development login page, grants consent, and stops at the client's redirect URI
(nothing listens there; the code is read from the URL, as a loopback listener would).

Prints one JSON line on stdout:
    {"tools": [names], "is_error": bool, "content": [texts], "claims": {access token claims},
     "requests": [the gateway and provider URLs the flow fetched, in order]}
Exit 0 once the tool call returned; non-zero on any failure.
"""

import base64
import json
import re
import sys
from urllib.parse import parse_qs, urljoin, urlparse

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT_URI = "http://127.0.0.1:33418/callback"


class MemoryStorage:
    """Tokens and client registration kept for this run only."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Browser:
    """The user's browser on the provider's development login and consent pages."""

    def __init__(self, login: str) -> None:
        self.login = login
        self.landing: str | None = None

    async def open(self, url: str) -> None:
        async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
            for _ in range(20):
                if url.startswith(REDIRECT_URI):
                    self.landing = url
                    return
                r = await http.get(url)
                if r.is_redirect:
                    url = urljoin(url, r.headers["location"])
                    continue
                r.raise_for_status()
                page = r.text
                action = re.search(r'<form[^>]*action="([^"]+)"', page)
                prompt = re.search(r'name="prompt" value="([^"]+)"', page)
                if not action or not prompt:
                    raise RuntimeError(f"unexpected page at {url}: {page[:300]}")
                fields = {"prompt": prompt.group(1)}
                if prompt.group(1) == "login":
                    fields.update(login=self.login, password="any")
                action_url = urljoin(url, action.group(1).replace("&amp;", "&"))
                r = await http.post(action_url, data=fields)
                if not r.is_redirect:
                    raise RuntimeError(f"{action_url} answered {r.status_code}: {r.text[:300]}")
                url = urljoin(action_url, r.headers["location"])
        raise RuntimeError("too many redirects")

    async def callback(self) -> AuthorizationCodeResult:
        if self.landing is None:
            raise RuntimeError("the browser never reached the redirect URI")
        params = {k: v[0] for k, v in parse_qs(urlparse(self.landing).query).items()}
        if "error" in params:
            raise RuntimeError(f"authorization failed: {params}")
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def run(server_url: str, login: str, tool: str, args: dict) -> None:
    storage = MemoryStorage()
    browser = Browser(login)
    requests: list[str] = []

    async def log_request(request: httpx2.Request) -> None:
        requests.append(f"{request.method} {request.url}")

    oauth = OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name="gateway e2e (python mcp)",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    http = httpx2.AsyncClient(auth=oauth, timeout=30, event_hooks={"request": [log_request]})
    async with http, Client(streamable_http_client(server_url, http_client=http), read_timeout_seconds=30) as c:
        tools = [t.name for t in (await c.list_tools()).tools]
        r = await c.call_tool(tool, args)
        out = {
            "tools": tools,
            "is_error": bool(r.is_error),
            "content": [getattr(b, "text", None) or b.type for b in r.content],
            "claims": claims(storage.tokens.access_token) if storage.tokens else None,
            "requests": requests,
        }
    print(json.dumps(out), flush=True)


def main(argv: list[str]) -> None:
    if len(argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} SERVER_URL LOGIN TOOL ARGS_JSON")
    anyio.run(run, argv[0], argv[1], argv[2], json.loads(argv[3]))


if __name__ == "__main__":
    main(sys.argv[1:])
