"""Builtin plugin ``autoplug_models`` (filled in by its issue)."""
