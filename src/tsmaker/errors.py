"""Domain errors: one base class, a few subclasses, each with a one-line message.

Every message names the problem, the offending value and what to do next. The CLI
prints ``Error: <message>`` on stderr and exits with the error's ``exit_code``; a
traceback appears only with ``TSMAKER_DEBUG=1``.

A :class:`ParameterError` also carries the name of the run parameter it is about, so
that each front end can say it its own way: the command line ``--radius``, the Python
API ``radius_arcsec``, the web page beside the field.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Literal

Naming = Literal["python", "cli"]
"""How a parameter is named in a message: its Python keyword, or its command-line flag."""


class TsmakerError(Exception):
    """Base class of every error tsmaker raises on purpose."""

    exit_code = 1
    parameter: str | None = None
    """The parameter the error is about, when known: a
    :class:`tsmaker.parameters.RunParameters` field, or an argument of the call that
    raised it (``name``, ``location`` of a catalog). A front end shows the message
    beside that field. A check that knows it sets it (:func:`about`)."""


class InputError(TsmakerError):
    """A file, column, option value or expression given by the user is unusable."""


class ParameterError(InputError):
    """A run parameter has a value it cannot take.

    The error carries the parameter's Python name (a
    :class:`tsmaker.parameters.RunParameters` field, e.g. ``radius_arcsec``) and its
    message in each naming, so that each front end says it its own way: ``str(error)``
    names the Python keyword, the command line and the web page the flag
    (``error.message("cli")``). :func:`tsmaker.parameters.parameter_error` builds one.

    Parameters
    ----------
    parameter : str
        The parameter's Python name.
    messages : mapping
        The message for each :data:`Naming`.

    Examples
    --------
    >>> error = ParameterError("radius_arcsec", {"python": "radius_arcsec 0 is not > 0",
    ...                                          "cli": "--radius 0 is not > 0"})
    >>> str(error), error.message("cli")
    ('radius_arcsec 0 is not > 0', '--radius 0 is not > 0')
    """

    def __init__(self, parameter: str, messages: Mapping[Naming, str]) -> None:
        self.parameter = parameter
        self.messages: dict[Naming, str] = dict(messages)
        super().__init__(self.messages["python"])

    def message(self, naming: Naming = "python") -> str:
        """The message with the parameter named as ``naming`` names it."""
        return self.messages[naming]


class ChoiceError(InputError):
    """A value an option cannot take as written: a usage error, exit code 2.

    Outside the option's choices (``--format xls``), or not of its type (``--radius abc``).
    """

    exit_code = 2


class ParameterChoiceError(ParameterError, ChoiceError):
    """A run parameter given a value outside its choices or type; exit code 2.

    ``--format xls``, ``--radius abc``.
    """


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


class RunCancelled(RunInterrupted):  # noqa: N818
    """A run's product was cancelled or removed while it ran."""


@contextmanager
def about(parameter: str) -> Iterator[None]:
    """Mark the errors raised in a block as being about ``parameter`` (TsmakerError.parameter).

    An error that already names its parameter (a :class:`ParameterError`) keeps it.

    Examples
    --------
    >>> try:
    ...     with about("object_catalog"):
    ...         raise CatalogError("object catalog 'x' is unknown")
    ... except CatalogError as error:
    ...     print(error.parameter)
    object_catalog
    """
    try:
        yield
    except TsmakerError as error:
        if error.parameter is None:
            error.parameter = parameter
        raise


def first_line(error: BaseException) -> str:
    r"""The first line of an exception's message, or its type's name when it has none.

    Examples
    --------
    >>> first_line(ValueError("bad value\nmore detail"))
    'bad value'
    >>> first_line(KeyError())
    'KeyError'
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def require_choice(value: object, choices: Iterable[str], what: str) -> None:
    """Refuse a value outside ``choices`` with the one-line message every choice gets.

    Raises
    ------
    ChoiceError
        ``{what} {value!r} is not one of: ...``.

    Examples
    --------
    >>> require_choice("xls", ("parquet", "csv"), "output format")
    Traceback (most recent call last):
    ...
    tsmaker.errors.ChoiceError: output format 'xls' is not one of: parquet, csv
    """
    choices = tuple(choices)
    if value not in choices:
        raise ChoiceError(f"{what} {value!r} is not one of: {', '.join(choices)}")
