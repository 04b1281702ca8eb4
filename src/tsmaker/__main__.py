"""``python -m tsmaker`` and the ``tsmaker`` command.

Signals are answered from the first instant (:func:`tsmaker.signals.answer_early`),
before the command line's frameworks are imported; then the command line runs.
"""


def main() -> None:
    """Console entry point: answer signals at once, then run :func:`tsmaker.cli.main`."""
    from tsmaker.signals import answer_early

    answer_early()
    from tsmaker.cli import main as run_command_line

    run_command_line()


if __name__ == "__main__":
    main()
