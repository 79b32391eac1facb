"""One MCP session of the official Python client making several calls (through a load
balancer that sends each request to another gateway replica).

    python fleet_session.py --mode legacy|2026-07-28 URL TOKEN N

Prints one JSON line: {"protocol_version": ..., "calls": N done, "texts": [...]}.
Exits non-zero on any failure.
"""

import json
import sys

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def run(url: str, mode: str, token: str, n: int) -> None:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    transport = streamable_http_client(url, http_client=http)
    texts = []
    async with Client(transport, mode=mode, read_timeout_seconds=30) as c:
        for i in range(n):
            tools = [t.name for t in (await c.list_tools()).tools]
            assert "echo" in tools, tools
            r = await c.call_tool("echo", {"message": f"m{i}"})
            assert not r.is_error, r
            texts.append(getattr(r.content[0], "text", None))
        out = {"protocol_version": c.protocol_version, "calls": len(texts), "texts": texts}
    print(json.dumps(out), flush=True)


def main(argv: list[str]) -> None:
    if argv[:1] != ["--mode"] or len(argv) != 5:
        sys.exit(f"usage: {sys.argv[0]} --mode M URL TOKEN N")
    mode, url, token, n = argv[1], argv[2], argv[3], int(argv[4])
    anyio.run(run, url, mode, token, n)


if __name__ == "__main__":
    main(sys.argv[1:])
