"""One MCP session of the official Python client (legacy mode) on a dedicated template,
through a load balancer that sends each request to another gateway replica; then, once
told to go on, the same session again after its replica was killed: the client gets the
gateway's "session not found" answer and starts a new session, which works.

    python fleet_recover.py URL TOKEN N

Protocol on stdout (one JSON line each):
  {"phase": "first", "pids": [...]}   N `whoami` calls of the first session, then it
                                      waits for a line on stdin
  {"phase": "after", "error": {...}, "pids": [...]}
                                      the first session's next call failed with `error`;
                                      a new session made N calls
Exits non-zero on any other failure.
"""

import json
import sys

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def client(url: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    transport = streamable_http_client(url, http_client=http)
    return Client(transport, mode="legacy", read_timeout_seconds=30)


async def whoami(c: Client, n: int) -> list[int]:
    pids = []
    for _ in range(n):
        r = await c.call_tool("whoami", {})
        assert not r.is_error, r
        pids.append(r.structured_content["pid"])
    return pids


async def run(url: str, token: str, n: int) -> None:
    error = None
    try:
        async with client(url, token) as c:
            pids = await whoami(c, n)
            print(json.dumps({"phase": "first", "pids": pids}), flush=True)
            await anyio.to_thread.run_sync(sys.stdin.readline)
            try:
                await c.call_tool("whoami", {})
            except MCPError as e:
                error = {"code": e.code, "message": e.message}
    except Exception as e:  # closing a session whose replica is gone may fail too
        if error is None:
            raise
        print(f"closing the dead session: {e!r}", file=sys.stderr)
    assert error is not None, "the call after the kill should have failed"
    # What the specification asks of a client that gets 404 for its session: start over.
    async with client(url, token) as c:
        pids = await whoami(c, n)
    print(json.dumps({"phase": "after", "error": error, "pids": pids}), flush=True)


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} URL TOKEN N")
    url, token, n = argv[0], argv[1], int(argv[2])
    anyio.run(run, url, token, n)


if __name__ == "__main__":
    main(sys.argv[1:])
