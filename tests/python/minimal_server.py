"""The server side that the small MCP test fixtures share (standard library only).

    from minimal_server import answer, not_found, serve_stdio

`answer` replies to the handshake and the health probes (`initialize`, `ping`,
`tools/list`); each fixture decides everything else, which is the fault it exists for.
"""

import json
import sys


def answer(request, name, tools):
    """The reply to `initialize`, `ping` or `tools/list`; None for any other method."""
    method = request["method"]
    if method == "initialize":
        version = request.get("params", {}).get("protocolVersion", "2025-06-18")
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": name, "version": "0"},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": tools}
    else:
        return None
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def not_found(request):
    """JSON-RPC method-not-found for `request`."""
    return {"jsonrpc": "2.0", "id": request["id"],
            "error": {"code": -32601, "message": "method not found: " + request["method"]}}


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve_stdio(name, tools, on_other=not_found):
    """Answers requests on stdin until EOF. `on_other(request)` gives the reply to any
    other method, or None to send nothing."""
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        if "id" not in request or "method" not in request:
            continue  # notifications (initialized, cancelled) and responses need no answer
        reply = answer(request, name, tools)
        if reply is None:
            reply = on_other(request)
        if reply is not None:
            send(reply)
