"""Starting a server: its token, its socket, uvicorn, and a clean stop.

The socket is bound before uvicorn starts, so that a port already taken is one clear
error line and ``--port 0`` gets a free port whose address is printed. One uvicorn
worker, no reload: the server's job manager must be the only one.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from dataclasses import replace

from tsmaker.errors import InputError, RunInterrupted, TsmakerError
from tsmaker.web.config import ServerConfig
from tsmaker.web.security import is_loopback

MIN_TOKEN_CHARS = 12


def choose_token(host: str, token: str | None, generate: bool) -> tuple[str | None, bool]:
    """The server's token, and whether it was made here (to be printed once).

    Raises
    ------
    InputError
        A host other machines can reach without a token, or a token too short to guard it.

    Examples
    --------
    >>> choose_token("127.0.0.1", None, False)
    (None, False)
    >>> choose_token("0.0.0.0", None, False)
    Traceback (most recent call last):
    ...
    tsmaker.errors.InputError: --host 0.0.0.0 is reachable from other machines, so the \
server needs a token: give --token (or set TSMAKER_TOKEN), or --generate-token to have one \
made and printed once
    """
    from tsmaker import settings

    if generate:
        return secrets.token_urlsafe(24), True
    token = (token or "").strip() or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError(f"--token is {len(token)} characters long, too short to guard a "
                         f"server; give at least {MIN_TOKEN_CHARS}, or use --generate-token")
    if token is None and not is_loopback(host):
        raise InputError(
            f"--host {host} is reachable from other machines, so the server needs a token: "
            f"give --token (or set {settings.ENV_TOKEN}), or --generate-token to have one "
            "made and printed once"
        )
    return token, False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: a free port).

    Raises
    ------
    InputError
        The address cannot be listened on (taken, or not this machine's).
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                         "choose another --port, or a --host of this machine") from None
    return listener


def url_of(host: str, port: int) -> str:
    """The address to open in a browser.

    Examples
    --------
    >>> url_of("127.0.0.1", 8000), url_of("::1", 8001)
    ('http://127.0.0.1:8000/', 'http://[::1]:8001/')
    """
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(config: ServerConfig, *, generated_token: bool,
          announce: Callable[[str], None]) -> None:
    """Run the server until Ctrl-C or SIGTERM, then stop its runs and return.

    Parameters
    ----------
    config : ServerConfig
        What to serve, and how.
    generated_token : bool
        The token was made here: ``announce`` shows it once, in the address to open.
    announce : callable
        Shows one line to the person who started the server.
    """
    import uvicorn

    from tsmaker.registry import Registry
    from tsmaker.web.app import create_app

    Registry(config.registry_path).close()  # a registry that cannot open fails here, in one line
    listener = bind(config.host, config.port)
    port = listener.getsockname()[1]
    url = url_of(config.host, port)
    config = replace(config, port=port)
    if config.token is None:
        announce(f"tsmaker serve: {url} (Ctrl-C stops the server and its runs)")
    elif generated_token:
        announce(f"tsmaker serve: {url}?token={config.token} (the token is shown only now)")
    else:
        announce(f"tsmaker serve: {url} (asks for the token; Ctrl-C stops it)")
    server = uvicorn.Server(uvicorn.Config(
        create_app(config), log_level="warning", access_log=False, lifespan="on",
        timeout_graceful_shutdown=5, workers=1,
    ))
    try:
        server.run(sockets=[listener])
    except (KeyboardInterrupt, RunInterrupted):
        pass  # uvicorn shut down cleanly, then passed the signal on
    finally:
        listener.close()
    if not server.started:
        raise TsmakerError("the server did not start (see the message above)")
    announce("tsmaker serve: stopped")
