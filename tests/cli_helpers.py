"""Helpers shared by the tests that run tsmaker as a real process."""

import re
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Completed:
    """One finished CLI process."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


_WARNING_HEADER = re.compile(r"^\S.*:\d+: \w*Warning: ")


def without_library_warnings(stderr: str) -> list[str]:
    """stderr lines minus Python warnings shown by libraries (header .. indented source).

    Library warnings can reach stderr at random; they are not what these tests are about.
    """
    kept, skipping = [], False
    for line in stderr.splitlines():
        if _WARNING_HEADER.match(line):
            skipping = True
        elif skipping and line.startswith("  "):
            skipping = False
        elif not skipping:
            kept.append(line)
    return kept


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
