"""Domain errors: one base class, a few subclasses, each with a one-line message.

Every message names the problem, the offending value and what to do next. The CLI
prints ``Error: <message>`` on stderr and exits 1; a traceback appears only with
``TSMAKER_DEBUG=1``.
"""


class TsmakerError(Exception):
    """Base class of every error tsmaker raises on purpose."""

    exit_code = 1


class InputError(TsmakerError):
    """A file, column, option value or expression given by the user is unusable."""


class CatalogError(TsmakerError):
    """A catalog is unknown, unreachable, or not what its profile says."""


class ProductError(TsmakerError):
    """A product is unknown, or its files are missing."""


class RegistryError(TsmakerError):
    """The SQLite registry cannot be opened or written safely."""


class DustMapError(TsmakerError):
    """A dust map is missing, unreadable, or cannot be fetched."""


class RunInterrupted(TsmakerError):  # noqa: N818 - reads as an event, like KeyboardInterrupt
    """A run was stopped by Ctrl-C or SIGTERM."""

    exit_code = 130
