"""A recording Personalize PutEvents / PutUsers endpoint on loopback, since moto has no personalize-events.

A real boto3 client pointed at it serializes, signs and retries exactly as against AWS; the sink keeps
every request body and can answer with a fixed latency or injected faults.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config

# (request body, how many requests the sink had seen before this one) -> None to accept, or
# (HTTP status, error code) to fail the request, e.g. (400, "InvalidInputException").
Fault = Callable[[dict[str, Any], int], tuple[int, str] | None]


PATHS = {"/events": "PutEvents", "/users": "PutUsers"}


@dataclass(frozen=True)
class Request:
    body: dict[str, Any]
    status: int
    operation: str = "PutEvents"


def client_for(url: str, max_attempts: int = 3, pool: int = 10) -> Any:
    """A real personalize-events client on ``url`` (a sink), with dummy credentials and botocore retries."""
    return boto3.client(
        "personalize-events",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            max_pool_connections=pool, retries={"mode": "standard", "total_max_attempts": max_attempts}
        ),
    )


class RecordingSink:
    def __init__(self, latency: float = 0.0, fault: Fault | None = None) -> None:
        self.latency = latency
        self.fault = fault
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, and tests start a sink each.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """Bodies of the PutEvents calls that succeeded, in arrival order."""
        return self.accepted_of("PutEvents")

    @property
    def accepted_users(self) -> list[dict[str, Any]]:
        """Bodies of the PutUsers calls that succeeded, in arrival order."""
        return self.accepted_of("PutUsers")

    def accepted_of(self, operation: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if r.status == 200 and r.operation == operation]

    def __enter__(self) -> RecordingSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, body: dict[str, Any], operation: str = "PutEvents") -> tuple[int, str | None]:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            seen = len(self.requests)
        verdict = self.fault(body, seen) if self.fault else None
        status, code = verdict if verdict else (200, None)
        with self._lock:
            self.requests.append(Request(body, status, operation))
        return status, code

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, each call would wait ~40 ms
            # for a delayed ACK and the sink would add latency nobody asked for.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                operation = PATHS.get(self.path)
                if operation is None:
                    status, code = 404, "UnknownOperationException"
                else:
                    status, code = sink._answer(body, operation)
                payload = json.dumps({} if code is None else {"__type": code, "message": code}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if code is not None:
                    self.send_header("x-amzn-ErrorType", code)
                try:
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (its read timeout, or the Lambda's deadline)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
