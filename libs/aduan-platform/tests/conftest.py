from notes_service import notes_app

__all__ = ["notes_app"]
