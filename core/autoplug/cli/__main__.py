"""``python -m autoplug.cli``."""

from . import main

main()
