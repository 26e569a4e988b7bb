"""A real SMS gateway for the tests: an HTTP server on a local port that checks what evalapp sends.

It verifies each POST's HMAC signature and timestamp the way a federation's gateway would, keeps one
message per idempotency key (a repeated key is answered 200 and not kept twice), and can be told to
answer the next requests with an error status or to drop the connection.
"""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "gateway-test-secret"


class Gateway:
    def __init__(self, secret=SECRET):
        self.secret = secret
        self.messages = []        # accepted messages, in order, one per idempotency key
        self.requests = 0         # every POST received, repeated keys included
        self.refused = []         # (status, reason) of requests refused for a bad signature
        #: What to answer the next requests with: a status, (status, body bytes), or "drop".
        self.script = []
        self.retry_after = None
        self._keys = set()
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: without this, Nagle holds the body for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, extra, payload = gateway._answer(self.headers, body)
                if status == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, headers, body):
        with self._lock:
            self.requests += 1
            if self.script:
                status = self.script.pop(0)
                status, payload = status if isinstance(status, tuple) else (status, b'{"error":"scripted"}')
                extra = {"Retry-After": str(self.retry_after)} if self.retry_after and status != "drop" else {}
                return status, extra, payload
            timestamp = headers.get("X-Evalapp-Timestamp", "")
            expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, headers.get("X-Evalapp-Signature", "")):
                self.refused.append((401, "signature"))
                return 401, {}, b'{"error":"signature"}'
            if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
                self.refused.append((401, "timestamp"))
                return 401, {}, b'{"error":"timestamp"}'
            message = json.loads(body)
            key = headers.get("Idempotency-Key")
            if key != message.get("id"):
                self.refused.append((400, "key"))
                return 400, {}, b'{"error":"key"}'
            if key not in self._keys:
                self._keys.add(key)
                self.messages.append(message)
            return 200, {}, json.dumps({"id": key, "accepted": True}).encode()

    def to(self, phone):
        return [message for message in self.messages if message["to"] == phone]
