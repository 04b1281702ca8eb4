"""tsmaker: build photo-z training sets from spec-z catalogs and LSST Object photometry.

The public API is re-exported here; users never import deep paths::

    from tsmaker import make_training_set
    product = make_training_set("train", "demo-specz", "demo", radius_arcsec=1.0)
"""

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Registry",
    "RunParameters",
    "TsmakerError",
    "__version__",
    "make_training_set",
]


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import tsmaker` (and `tsmaker --help`) light.
    if name == "make_training_set":
        from tsmaker.run.pipeline import make_training_set

        return make_training_set
    if name == "RunParameters":
        from tsmaker.parameters import RunParameters

        return RunParameters
    if name == "Registry":
        from tsmaker.registry.database import Registry

        return Registry
    if name == "TsmakerError":
        from tsmaker.errors import TsmakerError

        return TsmakerError
    raise AttributeError(f"module 'tsmaker' has no attribute {name!r}")
