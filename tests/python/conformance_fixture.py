"""MCP conformance fixture server (Python `mcp` 2.3, `MCPServer`).

Exposes the fixed names that `@modelcontextprotocol/conformance` 0.1.16 calls in its
server scenarios (tools `test_*`, resources `test://...`, prompts `test_*_prompt...`,
completion, logging, subscriptions), so the suite can run fully green against it, and
so the gateway can be run in front of it for a differential check.

    python conformance_fixture.py http PORT   # Streamable HTTP on http://127.0.0.1:PORT/mcp
    python conformance_fixture.py             # stdio

The expectations come from the suite's `dist/index.js`; each scenario name is noted
next to the item it needs. The same endpoint also answers the 2026-07-28 (modern) era,
as every `mcp` 2.x server does.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import uuid
import wave
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Message
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore

# ctx.log()/session.create_message() are deprecated at 2026-07-28 (SEP-2577) but are
# exactly what the legacy-era scenarios exercise.
warnings.filterwarnings("ignore", category=DeprecationWarning)
try:
    from mcp.shared.exceptions import MCPDeprecationWarning

    warnings.filterwarnings("ignore", category=MCPDeprecationWarning)
except ImportError:  # pragma: no cover
    pass

# 1x1 red pixel PNG.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def _tiny_wav() -> str:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128] * 80))  # 10 ms of silence
    return base64.b64encode(buf.getvalue()).decode()


WAV_B64 = _tiny_wav()

mcp = MCPServer("mcp-conformance-fixture", version="1.0.0")
_low = mcp._lowlevel_server  # noqa: SLF001 - MCPServer has no decorators for these three legacy methods


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


# --- tools ---------------------------------------------------------------------------


@mcp.tool(description="Returns a simple text response")  # tools-call-simple-text
def test_simple_text() -> types.CallToolResult:
    return types.CallToolResult(content=[_text("This is a simple text response for testing.")])


@mcp.tool(description="Returns an image (1x1 red PNG)")  # tools-call-image
def test_image_content() -> types.CallToolResult:
    return types.CallToolResult(content=[types.ImageContent(type="image", data=PNG_B64, mime_type="image/png")])


@mcp.tool(description="Returns audio (a short WAV)")  # tools-call-audio
def test_audio_content() -> types.CallToolResult:
    return types.CallToolResult(content=[types.AudioContent(type="audio", data=WAV_B64, mime_type="audio/wav")])


@mcp.tool(description="Returns an embedded resource")  # tools-call-embedded-resource
def test_embedded_resource() -> types.CallToolResult:
    res = types.TextResourceContents(
        uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
    )
    return types.CallToolResult(content=[types.EmbeddedResource(type="resource", resource=res)])


@mcp.tool(description="Returns text, image and resource content")  # tools-call-mixed-content
def test_multiple_content_types() -> types.CallToolResult:
    res = types.TextResourceContents(
        uri="test://mixed-content-resource",
        mime_type="application/json",
        text=json.dumps({"test": "data", "value": 123}),
    )
    return types.CallToolResult(
        content=[
            _text("Multiple content types test:"),
            types.ImageContent(type="image", data=PNG_B64, mime_type="image/png"),
            types.EmbeddedResource(type="resource", resource=res),
        ]
    )


@mcp.tool(description="Sends three info log notifications while it runs")  # tools-call-with-logging
async def test_tool_with_logging(ctx: Context) -> str:
    await ctx.log("info", "Tool execution started")
    await anyio.sleep(0.05)
    await ctx.log("info", "Tool processing data")
    await anyio.sleep(0.05)
    await ctx.log("info", "Tool execution completed")
    return "Tool with logging executed successfully"


@mcp.tool(description="Always fails (isError: true)")  # tools-call-error
def test_error_handling() -> str:
    raise ToolError("This tool intentionally returns an error for testing")


@mcp.tool(description="Reports progress 0, 50, 100 of 100")  # tools-call-with-progress
async def test_tool_with_progress(ctx: Context) -> str:
    for i, p in enumerate((0, 50, 100)):
        if i:
            await anyio.sleep(0.05)
        await ctx.report_progress(p, 100, f"step {i + 1}")
    return "Tool with progress completed"


@mcp.tool(description="Asks the client for LLM sampling")  # tools-call-sampling
async def test_sampling(prompt: str, ctx: Context) -> str:
    result = await ctx.session.create_message(
        messages=[types.SamplingMessage(role="user", content=_text(prompt))],
        max_tokens=100,
        related_request_id=ctx.request_id,
    )
    content = result.content
    text = getattr(content, "text", None) or json.dumps(
        content.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    return f"LLM response: {text}"


async def _elicit(ctx: Context, message: str, schema: dict[str, Any]) -> str:
    result = await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)
    return f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}"


@mcp.tool(description="Asks the client for user input (elicitation)")  # tools-call-elicitation
async def test_elicitation(message: str, ctx: Context) -> str:
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    return await _elicit(ctx, message, schema)


@mcp.tool(description="Elicitation with defaults for every primitive type (SEP-1034)")  # elicitation-sep1034-defaults
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": True},
        },
        "required": [],
    }
    return await _elicit(ctx, "Please review and update the form fields with defaults", schema)


@mcp.tool(description="Elicitation with all five enum variants (SEP-1330)")  # elicitation-sep1330-enums
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {
                "type": "string",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"},
                ],
            },
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"},
                    ]
                },
            },
        },
        "required": [],
    }
    return await _elicit(ctx, "Please select options from the enum fields", schema)


@mcp.tool(description="Closes its SSE stream mid-call; the result arrives after the client reconnects")
async def test_reconnection(ctx: Context) -> str:  # server-sse-polling (pending scenario)
    await anyio.sleep(0.1)
    await ctx.close_sse_stream()
    await anyio.sleep(0.2)
    return "Reconnection test completed successfully"


@mcp.tool(description="Tool with JSON Schema 2020-12 features")  # json-schema-2020-12 (pending scenario)
def json_schema_2020_12_tool(name: str | None = None, address: dict[str, Any] | None = None) -> str:
    return f"name={name}, address={json.dumps(address)}"


# The suite checks that these keywords survive in tools/list (SEP-1613); argument
# validation still uses the function signature.
mcp._tool_manager.get_tool("json_schema_2020_12_tool").parameters = {  # noqa: SLF001
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}
    },
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
    "additionalProperties": False,
}


# --- resources -----------------------------------------------------------------------


@mcp.resource("test://static-text", name="static-text", description="A static text resource", mime_type="text/plain")
def static_text() -> str:  # resources-read-text
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", name="static-binary", description="A static PNG", mime_type="image/png")
def static_binary() -> bytes:  # resources-read-binary
    return base64.b64decode(PNG_B64)


@mcp.resource(
    "test://template/{id}/data",
    name="template-data",
    description="A resource template with an id parameter",
    mime_type="application/json",
)
def template_data(id: str) -> str:  # resources-templates-read
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


@mcp.resource("test://watched-resource", name="watched-resource", description="A resource to subscribe to")
def watched_resource() -> str:  # resources-subscribe / resources-unsubscribe
    return "Watched resource content"


_subscriptions: set[str] = set()


async def _subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
    _subscriptions.add(params.uri)
    return types.EmptyResult()


async def _unsubscribe(ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
    _subscriptions.discard(params.uri)
    return types.EmptyResult()


async def _set_level(ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:  # logging-set-level
    return types.EmptyResult()


_low.add_request_handler("resources/subscribe", types.SubscribeRequestParams, _subscribe)
_low.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, _unsubscribe)
_low.add_request_handler("logging/setLevel", types.SetLevelRequestParams, _set_level)


# --- prompts -------------------------------------------------------------------------


@mcp.prompt(description="A simple prompt without arguments")  # prompts-get-simple
def test_simple_prompt() -> str:
    return "This is a simple prompt for testing."


@mcp.prompt(description="A prompt with two required arguments")  # prompts-get-with-args
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@mcp.prompt(description="A prompt that embeds a resource")  # prompts-get-embedded-resource
def test_prompt_with_embedded_resource(resourceUri: str) -> list[Message]:  # noqa: N803 - wire name
    res = types.TextResourceContents(
        uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
    )
    return [
        Message(types.EmbeddedResource(type="resource", resource=res), role="user"),
        Message("Please process the embedded resource above.", role="user"),
    ]


@mcp.prompt(description="A prompt with an image")  # prompts-get-with-image
def test_prompt_with_image() -> list[Message]:
    return [
        Message(types.ImageContent(type="image", data=PNG_B64, mime_type="image/png"), role="user"),
        Message("Please analyze the image above.", role="user"),
    ]


# --- completion ----------------------------------------------------------------------


@mcp.completion()  # completion-complete
async def complete(ref: Any, argument: types.CompletionArgument, context: Any) -> types.Completion:
    candidates = ["paris", "park", "party", "test-value", "testing"]
    values = [c for c in candidates if c.startswith(argument.value or "")]
    return types.Completion(values=values, total=len(values), has_more=False)


# --- HTTP resumability ---------------------------------------------------------------


class MemoryEventStore(EventStore):
    """Keeps every SSE event so a client can resume with Last-Event-ID (priming events, SEP-1699)."""

    def __init__(self) -> None:
        self._events: list[tuple[str, str, types.JSONRPCMessage | None]] = []

    async def store_event(self, stream_id: str, message: types.JSONRPCMessage | None) -> str:
        event_id = uuid.uuid4().hex
        self._events.append((event_id, stream_id, message))
        return event_id

    def _after(self, last_event_id: str) -> Iterator[tuple[str, str, types.JSONRPCMessage | None]]:
        idx = next((i for i, e in enumerate(self._events) if e[0] == last_event_id), None)
        if idx is None:
            return iter(())
        stream_id = self._events[idx][1]
        return (e for e in self._events[idx + 1 :] if e[1] == stream_id)

    async def replay_events_after(self, last_event_id: str, send_callback: EventCallback) -> str | None:
        stream_id = next((e[1] for e in self._events if e[0] == last_event_id), None)
        if stream_id is None:
            return None
        for event_id, _, message in self._after(last_event_id):
            if message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        port = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
        mcp.run(
            "streamable-http",
            host="127.0.0.1",
            port=port,
            event_store=MemoryEventStore(),
            retry_interval=500,
        )
    else:
        mcp.run()
