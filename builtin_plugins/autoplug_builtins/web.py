"""Builtin plugin ``autoplug_web`` (filled in by its issue)."""
