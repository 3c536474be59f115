"""The core: domain errors, command context, typed settings, telemetry and logs. Imports nothing else of the platform."""
