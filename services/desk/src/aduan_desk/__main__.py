"""The desk's composition root: reads `DeskSettings` once, wires the gRPC backend into the web
application and serves it with uvicorn until SIGTERM."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from aduan.core.logs import configure_logging
from aduan.core.settings import SettingsError
from aduan.core.telemetry import configure_metrics, configure_tracing
from aduan_desk.app import build_app
from aduan_desk.backend import GrpcBackend
from aduan_desk.settings import DeskSettings

SERVICE = "desk"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="aduan-desk",
        description="The desk: a web workplace over the services' gRPC APIs. "
        "Configured by ADUAN_* environment variables (docs/desk.md).",
    )
    parser.parse_args(argv)
    try:
        settings = DeskSettings.from_env()
    except SettingsError as error:
        sys.exit(f"aduan-desk: refusing to start: {error}")
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    configure_tracing(SERVICE)
    configure_metrics(SERVICE, settings.metrics_port)
    try:
        # With OpenID Connect this reads the JWKS file the access tokens are checked with.
        app = build_app(settings, GrpcBackend(dict(settings.peers), settings.tls))
    except SettingsError as error:
        sys.exit(f"aduan-desk: refusing to start: {error}")
    # No access log: request lines carry complaint ids and search words, and the desk logs no
    # personal data (docs/desk.md).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
