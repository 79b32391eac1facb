"""A stdio MCP server whose tools never answer, for the passive-ejection test.

    silent_calls_stdio.py

Completes the MCP handshake and answers `ping` and `tools/list` at once, so active health
probes pass, but never answers `tools/call`: every call through the gateway times out.
Standard library only.
"""

from minimal_server import not_found, serve_stdio


def on_other(request):
    if request["method"] == "tools/call":
        return None  # the fault under test: the request is read and never answered
    return not_found(request)


serve_stdio("silent", [{"name": "whoami", "inputSchema": {"type": "object"}}], on_other)
