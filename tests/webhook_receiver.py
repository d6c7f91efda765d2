"""A webhook receiver on 127.0.0.1 for the tests and the bench: the vendor's product, as Prorata sees it.

Every POST is kept in `requests` (body, lower-cased headers, when it arrived, the status answered). It
answers 200, except: the first `hang_first` requests wait `hang_seconds` before answering (past the
sender's timeout), and the next `fail_first` answer 500 with a short body. `accepted` is the 200s only.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackServer


class WebhookReceiver(LoopbackServer):
    def __init__(self, *, fail_first: int = 0, hang_first: int = 0, hang_seconds: float = 2.0):
        self.fail_first, self.hang_first, self.hang_seconds = fail_first, hang_first, hang_seconds
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the answer's headers and body go out at once, not 40 ms apart

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.time()
                with receiver.lock:
                    n = len(receiver.requests)
                    status = 200 if n >= receiver.hang_first + receiver.fail_first else 500
                    receiver.requests.append(
                        {
                            "body": body,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "at": arrived,
                            "status": status,
                        }
                    )
                if n < receiver.hang_first:
                    time.sleep(receiver.hang_seconds)
                answer = b"ok" if status == 200 else b"boom: the product is down"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (its timeout)

            def log_message(self, *args):
                pass

        self.serve(Handler, "/hooks")

    @property
    def accepted(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]
