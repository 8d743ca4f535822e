"""The door: checks every request gets before any route sees it (a plain ASGI middleware).

- **Host allow-list.** The Host header must name this service (loopback names by default; ``allowed_hosts`` /
  ``EMOLENS_ALLOWED_HOSTS`` adds others, ``*`` allows any). A web page that re-binds its own DNS name to 127.0.0.1
  sends its own name as Host, so it is refused: DNS rebinding cannot reach a loopback service.
- **Origin.** A browser sends ``Origin`` with every cross-site POST and websocket; one whose host is not allowed
  gets 403. Programs (the dashboard's client, Hume SDKs, curl) send none and are not affected.
- **Body size.** ``Content-Length`` over the limit is refused at once (413); a body without one is counted while
  it is read and refused as soon as it passes the limit, so nothing oversized is ever held in memory or stored.

Every refusal is Hume-style JSON ``{"message", "code"}`` naming the limit and the value seen.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from emolens.schema import LIMITS
from emolens.service.errors import ServiceError, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def host_name(value: str) -> str:
    """The host part of a Host header value or URL netloc, lower-cased, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def allowed_host_set(extra: Iterable[str]) -> frozenset[str] | None:
    """Loopback names plus ``extra`` (host names; ``*`` = any host, returned as None)."""
    names = {host_name(h) for h in extra if h and h.strip()}
    if "*" in names:
        return None
    return frozenset(names | set(LOOPBACK_HOSTS))


class BodyTooLarge(ServiceError):
    def __init__(self, limit_name: str, limit: int, seen: int | None) -> None:
        lim = LIMITS[limit_name]
        shown = lim.show(seen) if seen is not None else f"more than {lim.show(limit)}"
        super().__init__(
            413, f"request body: {shown}; at most {lim.show(limit)} (limit {limit_name})", "payload_too_large"
        )


class Door:
    """ASGI middleware enforcing the Host/Origin allow-list and body-size limits (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str] = (), upload_body_bytes: int = 0) -> None:
        self.app = app
        self.allowed = allowed_host_set(allowed_hosts)
        self.json_limit = LIMITS["json_body_bytes"].value
        self.upload_limit = upload_body_bytes or LIMITS["upload_body_bytes"].value

    def host_ok(self, host: str) -> bool:
        return self.allowed is None or host_name(host) in self.allowed

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = headers.get("host", "")
        if not self.host_ok(host):
            return (
                400,
                f"Host {host_name(host)!r} is not allowed by this service; it answers to "
                f"{', '.join(sorted(self.allowed or ()))}: add the name to EMOLENS_ALLOWED_HOSTS "
                "(or --allowed-hosts) if clients reach it that way",
                "host_not_allowed",
            )
        origin = headers.get("origin")
        if origin is not None:
            netloc = urlsplit(origin).netloc if origin != "null" else ""
            if not netloc or not self.host_ok(netloc):
                return (
                    403,
                    f"requests from web pages at {origin!r} are not allowed (cross-site); call the API from a "
                    "program, or add that host to EMOLENS_ALLOWED_HOSTS",
                    "origin_not_allowed",
                )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            status, message, code = refusal
            if scope["type"] == "http":
                await _send_json(send, status, error_body(status, message, code))
            else:
                await _deny_websocket(scope, receive, send, status, message, code)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit, name = (
            (self.upload_limit, "upload_body_bytes")
            if ctype.startswith("multipart/")
            else (self.json_limit, "json_body_bytes")
        )
        length = headers.get(b"content-length", b"").decode("latin-1")
        if length.isdigit() and int(length) > limit:
            err = BodyTooLarge(name, limit, int(length))
            await _send_json(send, 413, error_body(413, str(err), err.code), close=True)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(name, limit, None)
            return message

        await self.app(scope, counted, send)


async def _send_json(send: Send, status: int, body: dict[str, str], *, close: bool = False) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if close:  # the client may still be sending a huge body: do not read it
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _deny_websocket(scope: Scope, receive: Receive, send: Send, status: int, message: str, code: str) -> None:
    await receive()  # websocket.connect
    if "websocket.http.response" in (scope.get("extensions") or {}):
        data = json.dumps(error_body(status, message, code)).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
            }
        )
        await send({"type": "websocket.http.response.body", "body": data})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
