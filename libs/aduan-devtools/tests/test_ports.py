"""The port probe of `make up`: a port a stopped server left with connections in TIME_WAIT is
free again at once (a restart right after Ctrl-C must not fail); a port with a listener is not.

Ports handed to servers in tests and `make up` never come from the range outgoing connections
draw their local ports from: otherwise a connection to PostgreSQL, NATS or a peer opened between
the pick and the server's bind takes the port, and the service exits with "Address already in
use" (seen in CI: routing of the NATS-outage test)."""

from __future__ import annotations

import socket

from aduan_devtools.natsserver import ephemeral_ports, free_port, port_is_free


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


def test_free_ports_are_below_the_ephemeral_range_distinct_and_bindable() -> None:
    low, _ = ephemeral_ports()
    ports = [free_port() for _ in range(200)]
    assert all(port < low for port in ports), [p for p in ports if p >= low]
    assert len(set(ports)) == len(ports)
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports[-1]))
        server.listen(1)


def test_outgoing_connections_do_not_take_a_port_handed_out() -> None:
    """Many outgoing connections (each takes an ephemeral local port) after a pick: the server
    still binds its port."""
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(300)
        target = listener.getsockname()
        clients = [socket.create_connection(target) for _ in range(300)]
        try:
            assert port not in {c.getsockname()[1] for c in clients}
            with socket.socket() as server:
                server.bind(("127.0.0.1", port))
        finally:
            for client in clients:
                client.close()
