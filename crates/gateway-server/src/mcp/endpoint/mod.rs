//! Streamable HTTP for `/mcp` and `/mcp/{template}`, by phase:
//!
//! 1. [`extract`]: the endpoint (`/mcp/{template}`: 404 for an unknown template; `/mcp`:
//!    the templates the caller may see), the caller, the session id; the body with its
//!    headers, never copied.
//! 2. [`accept`]: `Accept` (406), `Content-Type` (415), one JSON-RPC message (400 with
//!    the parse error's code; batches are refused).
//! 3. [`post`]: scopes (403), a dedicated template's scope, then by era: a session
//!    request (legacy), `initialize` ([`initialize`]), or a 2026-07-28 request whose
//!    headers must match its body. Client notifications and responses go to
//!    [`client`] (202).
//! 4. [`answer`]: runs the request (racing `notifications/cancelled` within a session)
//!    and replies with JSON or, when it asked for progress (or runs in a dedicated
//!    session) and the client accepts it, an SSE stream.
//! 5. [`get`]: a session's stream of server messages; [`delete`] ends a session.
//!
//! | request | answer |
//! |---|---|
//! | POST `initialize` | 200 + `Mcp-Session-Id` (sealed) |
//! | POST request with a session id | 200 JSON or SSE; 404 for an unknown, expired or closed session |
//! | POST 2026-07-28 request (no session) | 200; 400 + −32020 / −32022 for bad headers or versions |
//! | POST call, read, prompt or completion without `mcp:call` | 403 + `insufficient_scope` challenge |
//! | POST `initialize` or any session request on a `dedicated` template without `mcp:call` | 403 + `insufficient_scope` challenge |
//! | POST `initialize` when every live session entry is busy and the cap is reached | 503 + `Retry-After` |
//! | POST notification or response | 202, empty |
//! | GET with a session id | SSE stream of list_changed / resource updates (ends at shutdown); 409 if one is open |
//! | DELETE with a session id | 200, session closed |
//! | GET / DELETE without a session id | 405 (2026-07-28 has neither) |
//! | bad `Origin`/`Host` | 403 · bad `Accept` | 406 · non-JSON body | 415 |

mod accept;
mod answer;
mod client;
mod delete;
mod extract;
mod get;
mod initialize;
mod post;

pub(crate) use delete::delete;
pub(crate) use get::get;
pub(crate) use post::post;
