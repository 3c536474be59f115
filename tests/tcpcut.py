"""A TCP proxy on a loopback port that a test can cut and restore: a dependency outage (a
database, a broker) without stopping the real server, which other tests and people may share.

    with TcpCut("127.0.0.1", 5432) as proxy:   # clients connect to proxy.port
        proxy.cut()       # every open connection is closed; new ones are refused
        proxy.restore()   # new connections go through again

Threads, no event loop, so synchronous tests and processes under test can both use it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

from aduan_devtools.natsserver import free_port

ACCEPT_POLL_SECONDS = 0.1


class TcpCut:
    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._accepting = threading.Event()
        # Connections made through the proxy since it started (each counts once).
        self.connections = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        return not self._accepting.is_set()

    def start(self) -> TcpCut:
        """Listen (again) on the same port and forward new connections."""
        if self._accepting.is_set():
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        self._listener = listener
        self._accepting.set()
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), daemon=True, name=f"tcpcut-{self.port}"
        )
        self._acceptor.start()
        return self

    restore = start

    def cut(self) -> None:
        """Stop listening (new connections are refused) and close every open connection."""
        self._accepting.clear()
        if self._acceptor is not None:
            self._acceptor.join(5)
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)

    stop = cut

    def _accept(self, listener: socket.socket) -> None:
        while self._accepting.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if not self._accepting.is_set():
                    _close(client)
                    _close(upstream)
                    return
                self._open.update((client, upstream))
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), daemon=True, name="tcpcut-pump"
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end the connection on both sides.
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)

    def __enter__(self) -> TcpCut:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cut()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
