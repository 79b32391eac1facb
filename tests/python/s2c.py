"""Server-to-client relay test (legacy era, Streamable HTTP) against server-everything's tools.

    python s2c.py URL

With sampling, elicitation and roots callbacks declared, calls
  trigger-sampling-request {prompt, maxTokens}  -> server's sampling/createMessage answered by the callback
  trigger-elicitation-request {}                -> the callback declines
  get-roots-list {}                             -> the server lists the client's root
  trigger-long-running-operation {duration:1, steps:3} with a progress callback
and prints one JSON line on stdout:
    {"results": {tool: first text block (<= 200 chars), ...}, "is_error": {tool: bool, ...},
     "progress": [1.0, 2.0, 3.0], "callbacks": {"sampling": n, "elicitation": n, "roots": n}}
"""

import json
import sys
from pathlib import Path

import anyio
import mcp_types as types
from mcp import Client

ROOT = Path(".mcp-test/fsroot").resolve().as_uri()
calls = {"sampling": 0, "elicitation": 0, "roots": 0}


async def sampling(ctx, p):
    calls["sampling"] += 1
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text="sampled"), model="fake", stop_reason="endTurn"
    )


async def elicit(ctx, p):
    calls["elicitation"] += 1
    return types.ElicitResult(action="decline")


async def roots(ctx):
    calls["roots"] += 1
    return types.ListRootsResult(roots=[types.Root(uri=ROOT, name="fsroot")])


async def main(url: str) -> None:
    results: dict[str, str] = {}
    errors: dict[str, bool] = {}
    async with Client(
        url,
        mode="legacy",
        read_timeout_seconds=30,
        sampling_callback=sampling,
        elicitation_callback=elicit,
        list_roots_callback=roots,
    ) as c:
        for name, args in [
            ("trigger-sampling-request", {"prompt": "hi", "maxTokens": 10}),
            ("trigger-elicitation-request", {}),
            ("get-roots-list", {}),
        ]:
            r = await c.call_tool(name, args)
            results[name] = (getattr(r.content[0], "text", None) or r.content[0].type)[:200] if r.content else ""
            errors[name] = bool(r.is_error)
        prog: list[float] = []

        async def on_progress(p, total, msg):
            prog.append(p)

        r = await c.call_tool(
            "trigger-long-running-operation", {"duration": 1, "steps": 3}, progress_callback=on_progress
        )
        name = "trigger-long-running-operation"
        results[name] = (getattr(r.content[0], "text", None) or r.content[0].type)[:200] if r.content else ""
        errors[name] = bool(r.is_error)
    print(json.dumps({"results": results, "is_error": errors, "progress": prog, "callbacks": calls}), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1])
