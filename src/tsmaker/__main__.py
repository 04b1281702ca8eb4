"""``python -m tsmaker``."""

from tsmaker.cli import main

main()
