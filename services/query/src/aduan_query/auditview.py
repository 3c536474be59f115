"""What the auditor's commands show and write: the rule is the platform's
(`aduan.contract.auditview`), shared with the desk's auditor page."""

from __future__ import annotations

from aduan.contract.auditview import (
    EXPORT_COLUMNS,
    REPLAY_COLUMNS,
    Places,
    Row,
    export_header,
    export_line,
    export_lines,
    export_record,
    replay_cells,
    replay_record,
    shown,
    utc_text,
)

__all__ = [
    "EXPORT_COLUMNS",
    "REPLAY_COLUMNS",
    "Places",
    "Row",
    "export_header",
    "export_line",
    "export_lines",
    "export_record",
    "replay_cells",
    "replay_record",
    "shown",
    "utc_text",
]
