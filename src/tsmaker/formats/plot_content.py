"""What the overview plot draws, read from a product: its columns, its sky, its figures.

:class:`ProductContent` reads only the product columns the panels need, under the
names the product gives them (Rubin's or RAIL's, dereddened or not, magnitudes or
fluxes only); :class:`Sky` holds the spec-z positions of the sky panel. The panels
themselves are in :mod:`tsmaker.formats.plot_match` and
:mod:`tsmaker.formats.plot_training`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker.columns import (
    MATCH_DISTANCE_COLUMN,
    MATCH_RANK_COLUMN,
    RAIL_NONDETECTION_MAG,
    SPECZ_ROW_COLUMN,
    band_columns,
    magnitude_columns,
)
from tsmaker.formats.tables import product_columns, read_product_table
from tsmaker.science.photometry import AB_ZERO_POINT_NJY

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

    from tsmaker.registry.records import ProductRecord


class ProductContent:
    """The product columns the panels need, and the names they were found under."""

    def __init__(self, frame: pd.DataFrame, columns: dict[str, str | None],
                 bands: dict[str, str], magnitudes_from_flux: bool, zero_point: float,
                 naming: str = "rubin") -> None:
        self.frame = frame
        self.columns = columns
        """Role (z, key, rank, distance) -> product column, None when absent."""
        self.bands = bands
        """Band -> magnitude column, or flux column when ``magnitudes_from_flux``."""
        self.magnitudes_from_flux = magnitudes_from_flux
        self.zero_point = zero_point
        self.naming = naming
        """``rail``: magnitudes of 99 are non-detections."""

    @classmethod
    def read(cls, product: ProductRecord, data_path: Path) -> ProductContent:
        """Read the columns the panels need from a product's data file."""
        available = set(product_columns(data_path))
        roles = product.inputs.get("redshift", {}).get("columns", {})
        wanted = {
            "z": roles.get("z"),
            "key": roles.get("id", SPECZ_ROW_COLUMN),
            "rank": MATCH_RANK_COLUMN,
            "distance": MATCH_DISTANCE_COLUMN,
        }
        columns = {role: name if name in available else None for role, name in wanted.items()}
        parameters = product.parameters
        flux_type = parameters.get("flux_type")
        naming = parameters.get("naming") or "rubin"
        dereddened = is_dereddened(parameters)
        bands: dict[str, str] = {}
        magnitudes_from_flux = False
        if flux_type:
            band_names = list(parameters.get("bands") or [])
            magnitude_names = {
                b: magnitude_columns(flux_type, b, dereddened=dereddened, naming=naming)[0]
                for b in band_names
            }
            flux_names = {b: band_columns(flux_type, b).dereddened_flux()[0] if dereddened
                          else band_columns(flux_type, b).flux for b in band_names}
            if parameters.get("magnitudes", True) and any(
                name in available for name in magnitude_names.values()
            ):
                bands = {b: n for b, n in magnitude_names.items() if n in available}
            else:
                bands = {b: n for b, n in flux_names.items() if n in available}
                magnitudes_from_flux = True
        needed = [name for name in columns.values() if name] + list(bands.values())
        frame = read_product_table(data_path, list(dict.fromkeys(needed)))
        zero_point = float(parameters.get("zero_point") or AB_ZERO_POINT_NJY)
        return cls(frame, columns, bands, magnitudes_from_flux, zero_point, naming)

    def nearest(self) -> pd.DataFrame:
        """The rows of each spec-z's nearest match (all rows without a rank column)."""
        rank = self.columns["rank"]
        if rank is None:
            return self.frame
        return self.frame[self.frame[rank] == 1]

    def magnitudes(self, rows: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each band's AB magnitude of ``rows`` (NaN where there is none), keyed by band.

        Computed from the fluxes with the product's zero point when it holds fluxes
        only; RAIL's non-detection value counts as no magnitude.
        """
        import numpy as np

        from tsmaker.science.photometry import flux_to_mag

        magnitudes = {}
        for band, column in self.bands.items():
            values = rows[column].to_numpy(dtype=np.float64, na_value=np.nan)
            if self.magnitudes_from_flux:
                values = flux_to_mag(values, self.zero_point)
            elif self.naming == "rail":
                values = np.where(values == RAIL_NONDETECTION_MAG, np.nan, values)
            magnitudes[band] = values
        return magnitudes


def is_dereddened(parameters: dict[str, Any]) -> bool:
    """True when a product's stored parameters asked for a dust correction."""
    from tsmaker.science.dust import DUST_SOURCES

    source = DUST_SOURCES.get(parameters.get("dust") or "none", DUST_SOURCES["none"])
    return source.dereddens


class Sky:
    """Spec-z positions for the sky panel, or why there are none."""

    def __init__(self, ra: np.ndarray | None = None, dec: np.ndarray | None = None,
                 matched: np.ndarray | None = None, problem: str | None = None) -> None:
        self.ra, self.dec, self.matched, self.problem = ra, dec, matched, problem

    @property
    def matched_fraction(self) -> float | None:
        """The fraction of the spec-z shown that are matched; None without any."""
        if self.matched is None or not len(self.matched):
            return None
        return float(self.matched.mean())


def plot_ra(ra_deg: ArrayLike) -> np.ndarray:
    """RA in degrees arranged for a plot: continuous across 0 when the points straddle it.

    The points straddle RA = 0 when the widest empty stretch of the circle is not
    the one across 0/360; RA above 180 is then shifted by -360.

    Examples
    --------
    >>> plot_ra([359.0, 1.0]).tolist()
    [-1.0, 1.0]
    >>> plot_ra([150.0, 210.0]).tolist()
    [150.0, 210.0]
    """
    import numpy as np

    ra = np.mod(np.asarray(ra_deg, dtype=np.float64), 360.0)
    finite = np.sort(ra[np.isfinite(ra)])
    if len(finite) < 2:
        return ra
    widest_inside = float(np.max(np.diff(finite)))
    across_zero = 360.0 - float(finite[-1]) + float(finite[0])
    if widest_inside > across_zero:
        return np.where(ra > 180.0, ra - 360.0, ra)
    return ra


def finite(values: np.ndarray) -> np.ndarray:
    """The finite values of an array."""
    import numpy as np

    return values[np.isfinite(values)]


def note(axes: Axes, text: str) -> None:
    """A panel that says why it is empty."""
    axes.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])
