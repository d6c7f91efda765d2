"""A VIES-shaped HTTP server on 127.0.0.1 for the tests: never the EU's real service.

`POST /check-vat-number` with `{"countryCode": "FR", "vatNumber": "40303265045"}` answers like
VIES's REST API. What it answers depends on the number:

- listed in `VALID` → `{"valid": true, "requestIdentifier": "WAPIAAAAW…", …}`;
- listed in `DOWN` → `{"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}`
  (HTTP 200, as VIES does when a member state's register is down);
- listed in `BROKEN` → HTTP 503 with an HTML page;
- anything else → `{"valid": false, …}`.

Each question is kept in `asked`, so a test can tell whether (and what) VIES was asked.
"""

import json
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackServer


class ViesServer(LoopbackServer):
    def __init__(self):
        self.valid: set[str] = set()
        self.down: set[str] = set()
        self.broken: set[str] = set()
        self.asked: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                if self.path.rstrip("/") != "/check-vat-number":
                    return self._send(404, {"actionSucceed": False, "errorWrappers": [{"error": "NOT_FOUND"}]})
                question = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.asked.append(question)
                vat_id = f"{question.get('countryCode', '')}{question.get('vatNumber', '')}"
                if vat_id in server.broken:
                    return self._send(503, b"<html>Service Unavailable</html>")
                if vat_id in server.down:
                    return self._send(200, {"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]})
                answer = {
                    "countryCode": question.get("countryCode"),
                    "vatNumber": question.get("vatNumber"),
                    "requestDate": "2026-12-02T10:00:00.000Z",
                    "valid": vat_id in server.valid,
                    "requestIdentifier": f"WAPIAAAAW{len(server.asked):07d}",
                    "name": "ACME SAS" if vat_id in server.valid else "---",
                    "address": "1 RUE DE LA PAIX 75002 PARIS" if vat_id in server.valid else "---",
                }
                return self._send(200, answer)

            def _send(self, status, body):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.serve(Handler)
