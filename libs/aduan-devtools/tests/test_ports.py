"""The port probe of `make up`: a port a stopped server left with connections in TIME_WAIT is
free again at once (a restart right after Ctrl-C must not fail); a port with a listener is not."""

from __future__ import annotations

import socket

from aduan_devtools.natsserver import free_port, port_is_free


def test_a_port_in_time_wait_is_free_and_a_listened_port_is_not() -> None:
    port = free_port()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)
    assert not port_is_free(port)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection is in TIME_WAIT
    client.recv(1)  # the client sees the close...
    client.close()  # ...and closes too
    server.close()
    assert port_is_free(port)
