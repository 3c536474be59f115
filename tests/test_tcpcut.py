"""The TCP proxy the probe tests cut (tests/tcpcut.py): it forwards, a cut closes open
connections and refuses new ones, a restore lets them through again on the same port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from tcpcut import TcpCut


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()


def roundtrip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        return conn.recv(1024)


def test_cut_closes_open_connections_and_refuses_new_ones(echo_port: int) -> None:
    with TcpCut("127.0.0.1", echo_port) as proxy:
        assert roundtrip(proxy.port) == b"ping"
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        held.sendall(b"one")
        assert held.recv(1024) == b"one"

        proxy.cut()
        assert proxy.is_cut
        assert held.recv(1024) == b"", "an open connection survived the cut"
        held.close()
        with pytest.raises(ConnectionRefusedError):
            roundtrip(proxy.port)

        proxy.restore()
        assert roundtrip(proxy.port, b"again") == b"again"
        assert proxy.connections == 3
