"""Where a run's E(B-V) comes from: no dust, the object catalog's column, or a dust map.

Each source is a small class behind one table, :data:`DUST_SOURCES`, keyed by the
``--dust`` choice. :meth:`DustSource.validate` runs before the product is registered
and before any object row is read, and returns the source ready to be shipped to the
workers, where :meth:`DustSource.ebv` gives each partition's E(B-V).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tsmaker.columns import EBV_COLUMN
from tsmaker.errors import CatalogError
from tsmaker.parameters import DUST_CHOICES, parameter_error

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy as np
    from numpy.typing import ArrayLike

    from tsmaker.science.dust_maps import DustMapLocation


@dataclass(frozen=True)
class DustSource:
    """No dust correction: the base of every source."""

    name: ClassVar[str] = "none"
    dereddens: ClassVar[bool] = False
    """True when the product gets dereddened fluxes and magnitudes."""
    reads_catalog_ebv: ClassVar[bool] = False
    """True when E(B-V) is the object catalog's own column (read with the objects)."""
    adds_ebv_column: ClassVar[bool] = False
    """True when the source adds an ``ebv`` column (a map's value at each object)."""

    def validate(self, object_columns: Sequence[str], object_location: str,
                 dust_dir: str | None) -> DustSource:
        """Check the source can serve this catalog; return it ready to run.

        Raises
        ------
        TsmakerError
            The catalog has no E(B-V) column, or the map is not found.
        """
        return self

    def ebv(self, columns: Mapping[str, ArrayLike], ra_column: str,
            dec_column: str) -> np.ndarray | None:
        """E(B-V) at each matched object, or None without a dust correction."""
        return None


@dataclass(frozen=True)
class CatalogDust(DustSource):
    """The object catalog's own ``ebv`` column (SFD in DP1)."""

    name: ClassVar[str] = "catalog"
    dereddens: ClassVar[bool] = True
    reads_catalog_ebv: ClassVar[bool] = True

    def validate(self, object_columns: Sequence[str], object_location: str,
                 dust_dir: str | None) -> DustSource:
        """Refuse a catalog without an ``ebv`` column."""
        if EBV_COLUMN not in object_columns:
            raise CatalogError(
                f"--dust catalog needs an {EBV_COLUMN!r} column, and object catalog "
                f"{object_location!r} has none; use a dust map instead (--dust sfd)"
            )
        return self

    def ebv(self, columns: Mapping[str, ArrayLike], ra_column: str,
            dec_column: str) -> np.ndarray | None:
        """The catalog's column, as float64."""
        import numpy as np

        return np.asarray(columns[EBV_COLUMN], dtype=np.float64)


@dataclass(frozen=True)
class MapDust(DustSource):
    """A full-sky dust map read with ``dustmaps`` (:mod:`tsmaker.science.dust_maps`)."""

    map_name: str = "sfd"
    """One of :data:`tsmaker.science.dust_maps.DUST_MAP_NAMES`."""
    location: DustMapLocation | None = None
    """Where the map's files were found; set by :meth:`validate`."""

    dereddens: ClassVar[bool] = True
    adds_ebv_column: ClassVar[bool] = True

    @property
    def name(self) -> str:  # type: ignore[override]
        """The ``--dust`` choice, the map's name."""
        return self.map_name

    def validate(self, object_columns: Sequence[str], object_location: str,
                 dust_dir: str | None) -> DustSource:
        """Find the map's files now (a missing map fails before any work)."""
        from tsmaker.science.dust_maps import require_map

        return replace(
            self, location=require_map(self.map_name, Path(dust_dir) if dust_dir else None)
        )

    def ebv(self, columns: Mapping[str, ArrayLike], ra_column: str,
            dec_column: str) -> np.ndarray | None:
        """The map's E(B-V) at each object's position."""
        import numpy as np

        from tsmaker.science.dust_maps import ebv_at

        if self.location is None:
            raise RuntimeError(f"dust map {self.map_name!r} used before validate()")
        return ebv_at(
            self.map_name,
            np.asarray(columns[ra_column], dtype=np.float64),
            np.asarray(columns[dec_column], dtype=np.float64),
            self.location,
        )


DUST_SOURCES: dict[str, DustSource] = {
    "none": DustSource(),
    "catalog": CatalogDust(),
    **{name: MapDust(map_name=name) for name in ("sfd", "csfd", "planck", "planck-gnilc")},
}
"""``--dust`` choice -> its source (not yet validated)."""


def dust_source(name: str) -> DustSource:
    """The source a ``--dust`` choice names.

    Raises
    ------
    ParameterError
        Not one of :data:`tsmaker.parameters.DUST_CHOICES`.
    """
    try:
        return DUST_SOURCES[name]
    except KeyError:
        raise parameter_error(
            "dust", f"{{name}} {name!r} is not one of: {', '.join(DUST_CHOICES)}", choice=True
        ) from None
