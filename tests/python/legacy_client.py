"""Drives the predecessor's published Python client (PyPI mcp-platform==1.2.0,
`mcp_platform.gateway.client.GatewayClient`) against a running gateway and prints what
every call returned as one JSON document. Exits non-zero (with a traceback) if any call
raises. Used by tests/tests/python_client.rs.

    python legacy_client.py BASE_URL TOOLS_TEMPLATE RESOURCES_TEMPLATE
"""

import asyncio
import json
import sys

from mcp_platform.gateway.client import GatewayClient
from mcp_platform.gateway.models import GatewayStatsResponse, ToolCallResponse


def dump(model):
    return model.model_dump() if hasattr(model, "model_dump") else model


async def main(base_url, tools_template, resources_template):
    out = {}
    # The client sends `Authorization: Bearer <api_key>`; the gateway must accept it.
    async with GatewayClient(base_url, api_key="legacy-client-key", timeout=30) as client:
        out["health"] = await client.health_check()
        stats = await client.get_stats()
        assert isinstance(stats, GatewayStatsResponse)
        out["stats"] = dump(stats)
        out["registry"] = await client.get_registry()
        out["templates"] = await client.list_templates()

        tools = await client.list_tools(tools_template)
        out["tools"] = [t["name"] for t in tools]
        call = await client.call_tool(tools_template, "add", {"a": 20, "b": 22})
        assert isinstance(call, ToolCallResponse)
        out["call"] = dump(call)
        out["call_error"] = dump(await client.call_tool(tools_template, "fail", {"message": "nope"}))

        # A template whose upstream offers no resources or prompts (the echo server
        # answers method-not-found): their client raises on anything but 200 + a list.
        out["tools_template_resources"] = await client.list_resources(tools_template)
        out["tools_template_prompts"] = await client.list_prompts(tools_template)

        resources = await client.list_resources(resources_template)
        out["resources_count"] = len(resources)
        first_uri = resources[0]["uri"]
        out["read_uri"] = first_uri
        out["read"] = await client.read_resource(resources_template, first_uri)

        prompts = await client.list_prompts(resources_template)
        out["prompts"] = [p["name"] for p in prompts]
        simple = next(
            p for p in prompts
            if not any(a.get("required") for a in (p.get("arguments") or []))
        )
        out["prompt_name"] = simple["name"]
        out["prompt"] = await client.get_prompt(resources_template, simple["name"])

        batch = await client.call_tools_batch([
            {"template_name": tools_template, "tool_name": "echo", "arguments": {"message": f"m{i}"}}
            for i in range(5)
        ] + [
            {"template_name": "no-such-template", "tool_name": "echo", "arguments": {}},
        ])
        out["batch"] = [dump(r) for r in batch]
        out["stats_after"] = dump(await client.get_stats())
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
