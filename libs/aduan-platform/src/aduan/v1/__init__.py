"""Generated from protos/aduan/v1 by `make protos`. Do not edit."""
