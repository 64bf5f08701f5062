"""Builtin plugin ``autoplug_autos`` (filled in by its issue)."""
