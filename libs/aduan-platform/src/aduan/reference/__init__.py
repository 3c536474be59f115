"""Reference data: area codes, time zones, the office hierarchy and the location questions."""
