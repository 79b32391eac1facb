"""A Streamable HTTP MCP server that fails every tool call with HTTP 500.

    http_500.py

Listens on 127.0.0.1 (any port) and prints `listening on http://127.0.0.1:PORT/mcp`.
`initialize`, `ping` and `tools/list` are answered as JSON (so the handshake and active
probes pass); `tools/call` gets `500 Internal Server Error`; other requests a JSON-RPC
method-not-found; notifications 202; GET 405 (no notification stream). Every POSTed
method is counted, and `GET /counts` returns the counts as JSON so a test can see what
reached the server. Standard library only.
"""

import json
import sys
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from minimal_server import answer, not_found

TOOLS = [{"name": "whoami", "inputSchema": {"type": "object"}}]

counts = Counter()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass  # keep the test output clean

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/counts":
            self.reply(200, dict(counts))
        else:
            self.reply(405, {"error": "no GET stream"})

    def do_DELETE(self):
        self.reply(405, {"error": "no sessions"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError:
            self.reply(400, {"error": "not JSON"})
            return
        method = request.get("method", "")
        counts[method] += 1
        if "id" not in request:
            self.reply(202)
            return
        if method == "tools/call":
            self.reply(500, {"error": "boom"})
            return
        reply = answer(request, "http-500", TOOLS)
        self.reply(200, reply if reply is not None else not_found(request))


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}/mcp", flush=True)
server.serve_forever()
