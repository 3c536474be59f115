"""What a complaint is about: the categories every service speaks of (docs/architecture.md,
"Domain defaults"). Intake classifies, routing routes by them, and the published contract
carries them as `aduan.v1.Category` under the same names."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    UNCLASSIFIED = "UNCLASSIFIED"
    LAND_DISPUTE = "LAND_DISPUTE"
    LAND_SERVICE = "LAND_SERVICE"
    ILLEGAL_LEVY = "ILLEGAL_LEVY"
    ABUSE_OF_AUTHORITY = "ABUSE_OF_AUTHORITY"
    SPATIAL_PLANNING = "SPATIAL_PLANNING"
    LAND_ACQUISITION = "LAND_ACQUISITION"
    INFORMATION_REQUEST = "INFORMATION_REQUEST"
    OTHER = "OTHER"
