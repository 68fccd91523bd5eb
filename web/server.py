"""Running the app: on a socket bound here first, so a busy port is one clear message (and port 0
picks a free one that can be printed), in the foreground for `serve` or in a thread for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from undertow.errors import InputError


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port} ({error.strerror or error}): pick another --port or --host") from None
    sock.listen(128)
    return sock


def _server(app, sock: socket.socket) -> uvicorn.Server:
    host, port = sock.getsockname()[:2]
    # Access logs would print every account a person opens to the terminal; warnings are enough.
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"))


def run(app, sock: socket.socket) -> None:
    """Serve until Ctrl-C."""
    _server(app, sock).run(sockets=[sock])


@contextmanager
def running(app, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 10.0) -> Iterator[str]:
    """The app served in a thread for the duration of the block; yields its base URL."""
    sock = bind(host, port)
    server = _server(app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        if not server.started:
            raise RuntimeError("the web server did not start")
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
