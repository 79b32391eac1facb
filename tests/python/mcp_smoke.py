"""Smoke test with the Python `mcp` 2.3 client: connect, list tools, call one tool.

    python mcp_smoke.py [--mode auto|legacy|2026-07-28] http URL TOOL ARGS_JSON
    python mcp_smoke.py [--mode ...] stdio TOOL ARGS_JSON -- COMMAND [ARG...]

Prints exactly one JSON line on stdout (for a Rust test to parse):
    {"protocol_version": ..., "server": ..., "tools": [names], "is_error": ...,
     "content": [texts], "structured": ...}
`server` is the server's name (with a pinned modern mode, taken from the result's `_meta`
serverInfo stamp, since no server/discover ran). `content` holds each block's text, or its type for non-text blocks. Exit 0 once the call
returned (whatever its is_error), non-zero on a connection or protocol failure.
"""

import json
import sys

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

SERVER_INFO_META = "io.modelcontextprotocol/serverInfo"


async def run(target, mode: str, tool: str, args: dict) -> None:
    async with Client(target, mode=mode, read_timeout_seconds=30) as c:  # URL str => Streamable HTTP
        tools = [t.name for t in (await c.list_tools()).tools]
        r = await c.call_tool(tool, args)
        server = c.server_info and c.server_info.name
        if server is None:  # a pinned modern mode skips server/discover: read the result's _meta stamp
            server = ((r.meta or {}).get(SERVER_INFO_META) or {}).get("name")
        out = {
            "protocol_version": c.protocol_version,
            "server": server,
            "tools": tools,
            "is_error": bool(r.is_error),
            "content": [getattr(b, "text", None) or b.type for b in r.content],
            "structured": r.structured_content,
        }
    print(json.dumps(out), flush=True)


def main(argv: list[str]) -> None:
    mode = "auto"
    if argv[:1] == ["--mode"]:
        mode, argv = argv[1], argv[2:]
    if argv[0] == "http":
        target, tool, args = argv[1], argv[2], json.loads(argv[3])
    elif argv[0] == "stdio":
        tool, args = argv[1], json.loads(argv[2])
        cmd = argv[argv.index("--") + 1 :]
        target = StdioServerParameters(command=cmd[0], args=cmd[1:])
    else:
        sys.exit(f"usage: {sys.argv[0]} [--mode M] http URL TOOL ARGS | stdio TOOL ARGS -- CMD...")
    anyio.run(run, target, mode, tool, args)


if __name__ == "__main__":
    main(sys.argv[1:])
