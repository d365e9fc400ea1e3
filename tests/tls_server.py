"""An HTTPS server on 127.0.0.1 with the test-only certificate of ``tests/fixtures/tls``: the
TLS settings (``verify=``) of both clients are checked against a real handshake."""

import json
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List

TLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tls")
CA = os.path.join(TLS, "ca.pem")
"""The CA that signed the server's certificate: ``verify=CA`` trusts it."""


class TLSServer:
    """Answers ``{"status": "healthy"}`` to any GET, over HTTPS; counts connections."""

    def __init__(self) -> None:
        self.accepted = 0
        self.paths: List[str] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(TLS, "server.pem"), os.path.join(TLS, "server.key"))
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                owner.accepted += 1
                super().setup()

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.paths.append(self.path)
                body = json.dumps({"status": "healthy"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> Any:
                sock, address = super().get_request()
                return context.wrap_socket(sock, server_side=True), address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that refused our certificate: expected in these tests

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return "https://127.0.0.1:{}".format(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "TLSServer":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()
