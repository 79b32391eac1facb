"""A stdio MCP server whose tools never answer, for the passive-ejection test.

    silent_calls_stdio.py

Completes the MCP handshake and answers `ping` and `tools/list` at once, so active health
probes pass, but never answers `tools/call`: every call through the gateway times out.
Standard library only.
"""

import json
import sys


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    try:
        request = json.loads(line)
    except ValueError:
        continue
    if "id" not in request or "method" not in request:
        continue  # notifications (initialized, cancelled) and responses need no answer
    method = request["method"]
    if method == "initialize":
        version = request.get("params", {}).get("protocolVersion", "2025-06-18")
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "silent", "version": "0"},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": [{"name": "whoami", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        continue  # the fault under test: the request is read and never answered
    else:
        send({"jsonrpc": "2.0", "id": request["id"],
              "error": {"code": -32601, "message": "method not found: " + method}})
        continue
    send({"jsonrpc": "2.0", "id": request["id"], "result": result})
