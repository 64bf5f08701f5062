"""Builtin plugin ``autoplug_memory`` (filled in by its issue)."""
