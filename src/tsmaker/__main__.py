"""``python -m tsmaker``."""

from tsmaker.cli.app import main

main()
