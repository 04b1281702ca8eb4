"""What guards the server: the token, the Host and cross-site checks, the upload limit.

Three pure ASGI middlewares (they never buffer a body):

- :class:`RequestGuard`: a browser may only send forms and API calls from the server's
  own pages (``Sec-Fetch-Site``, else ``Origin``): another site cannot make a
  logged-in browser submit a run or delete a product. Without a token it also
  accepts only loopback ``Host`` names, which defeats DNS rebinding (a hostile name
  resolving to 127.0.0.1 would otherwise count as the same origin).
- :class:`TokenGuard`: with a token, every page and API call must carry it, as
  ``Authorization: Bearer TOKEN``, the session cookie the login page sets, or
  ``?token=TOKEN`` (a page opened this way gets the cookie and loses the query).
- :class:`BodyLimit`: uploads over the limit are refused with 413 while they stream,
  and nothing of them is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "tsmaker_session"
LOOPBACK_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]", "::1")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Paths served without the token: the login page, static files, the health check.
OPEN_PATHS: tuple[str, ...] = ("/login", "/static/", "/static-docs/", "/healthz")


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address (127.0.0.0/8, ::1).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def session_value(token: str) -> str:
    """The session cookie's value for a token (the token itself never goes in a cookie)."""
    return hmac.new(token.encode(), b"tsmaker-session", hashlib.sha256).hexdigest()


def _host_name(host_header: str) -> str:
    """The name part of a Host header: ``[::1]:8000`` -> ``[::1]``, ``a:80`` -> ``a``."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if ":" in host_header else host_header


async def send_text(send: Send, status: int, text: str, *, close: bool = False,
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer with a plain-text message (a refusal)."""
    body = text.encode()
    response_headers = [(b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()), *(headers or [])]
    if close:
        response_headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Refuse cross-site form posts and API calls, and (without a token) foreign Host names.

    Parameters
    ----------
    app : ASGI app
        The app guarded.
    allowed_hosts : tuple of str, optional
        Host names accepted in the ``Host`` header; None accepts any (a token guards
        the server then).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...] | None) -> None:
        self.app = app
        self.allowed_hosts = None if allowed_hosts is None else frozenset(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _host_name(host) not in self.allowed_hosts:
            await send_text(send, 421, f"Misdirected request: Host {host!r} is not this "
                            "server's; open it as http://127.0.0.1:PORT/")
            return
        if scope["method"] in UNSAFE_METHODS:
            fetch_site = headers.get("sec-fetch-site")
            origin = headers.get("origin")
            if fetch_site is not None:
                # "same-site" is refused too: another port of the same host is same-site.
                allowed = fetch_site in ("same-origin", "none")
            elif origin is not None:
                allowed = origin == f"{scope['scheme']}://{host}"
            else:
                allowed = True  # not a browser (curl, httpx, requests): not a CSRF vector
            if not allowed:
                await send_text(send, 403, "Forbidden: a form or call from another site "
                                "cannot change this server; use its own pages")
                return
        await self.app(scope, receive, send)


class TokenGuard:
    """Ask every page and API call for the token (no-op without one).

    Parameters
    ----------
    app : ASGI app
        The app guarded.
    token : str or None
        The token; None lets every request through (loopback without a token).
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token) if token else None

    def authorised(self, headers: Headers, query: dict[str, str]) -> bool:
        """True when the request carries the token (header, cookie or query)."""
        assert self.token is not None and self.session is not None
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip(), self.token):
            return True
        if hmac.compare_digest(query.get("token", ""), self.token):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and hmac.compare_digest(value, self.session):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an authorised request on; refuse, or send a browser to the login page."""
        if scope["type"] != "http" or self.token is None or scope["path"].startswith(
            OPEN_PATHS
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        path = scope["path"]
        is_api = path.startswith("/api/") or path == "/openapi.json"
        if self.authorised(headers, query):
            if "token" in query and not is_api and scope["method"] == "GET":
                # A page opened with ?token=: keep it in a cookie, out of the address bar.
                rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
                await send_text(send, 303, "Logged in", headers=[
                    (b"location", (path + ("?" + rest if rest else "")).encode()),
                    (b"set-cookie", session_cookie(self.session).encode()),
                ])
                return
            await self.app(scope, receive, send)
            return
        if is_api or scope["method"] != "GET":
            await send_text(send, 401, "Unauthorized: this server needs its token; send "
                            "'Authorization: Bearer TOKEN' (the token `tsmaker serve` printed "
                            "or was given)", headers=[(b"www-authenticate", b"Bearer")])
            return
        target = path + ("?" + scope["query_string"].decode("latin-1")
                         if scope.get("query_string") else "")
        await send_text(send, 303, "Login needed", headers=[
            (b"location", ("/login?" + urlencode({"next": target})).encode())])


def session_cookie(session: str) -> str:
    """The ``Set-Cookie`` value that logs a browser in."""
    return f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"


class BodyTooLarge(HTTPException):
    """An upload past the limit (an HTTPException, so FastAPI answers 413, not 400)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, too_large_message(limit_bytes))


def too_large_message(limit_bytes: int) -> str:
    """What a refused upload is told."""
    return (f"upload larger than the server's limit of {limit_bytes / 2**20:g} MiB; "
            "register a larger catalog from the command line (`tsmaker catalogs add-redshift`)"
            " or start the server with a larger --max-upload-mb")


async def _drain(receive: Receive, budget: int) -> bool:
    """Read and drop the rest of a body; True when it ended within ``budget`` bytes.

    Answering while the client still sends makes Linux reset the connection, and the
    client may then never see the 413.
    """
    while budget >= 0:
        message = await receive()
        if message["type"] != "http.request":
            return False
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


class BodyLimit:
    """Refuse request bodies over ``limit_bytes`` (uploads) without storing them.

    A declared ``Content-Length`` over the limit is refused before the app runs; a
    body without one is counted as it streams and refused once past the limit. The
    rest of the body is read and dropped (up to ``drain_bytes``) so that the client
    sees the 413.
    """

    def __init__(self, app: ASGIApp, limit_bytes: int, drain_bytes: int = 64 << 20) -> None:
        self.app = app
        self.limit = limit_bytes
        self.drain = drain_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a body within the limit on; refuse a larger one with 413."""
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        message = too_large_message(self.limit)
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            expects_continue = headers.get("expect", "").lower() == "100-continue"
            clean = (not expects_continue and declared.isdigit()
                     and int(declared) <= self.limit + self.drain
                     and await _drain(receive, int(declared)))
            await send_text(send, 413, message, close=not clean)
            return
        seen = 0
        started = must_close = False

        async def counted() -> Message:
            nonlocal seen, must_close
            received = await receive()
            if received["type"] == "http.request":
                seen += len(received.get("body", b""))
                if seen > self.limit:
                    if received.get("more_body", False):
                        must_close = not await _drain(receive, self.drain)
                    raise BodyTooLarge(self.limit)
            return received

        async def tracked(reply: Message) -> None:
            nonlocal started
            if reply["type"] == "http.response.start":
                started = True
                if must_close:
                    reply = {**reply, "headers": [*reply.get("headers", []),
                                                  (b"connection", b"close")]}
            await send(reply)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await send_text(send, 413, message, close=must_close)
