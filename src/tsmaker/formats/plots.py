"""A one-page PNG overview of a finished product.

Four panels, in a 2x2 figure:

1. the redshift histogram of the matched spec-z (``match_rank == 1`` rows);
2. the magnitude distribution of each band (``{band}_{flux_type}Mag``, or
   ``..._Mag_dered`` when the product was dereddened; computed from the fluxes with
   the product's zero point when it holds fluxes only);
3. the match-distance histogram, nearest matches and further ones in two colours;
4. the spec-z catalog on the sky, matched and unmatched. The catalog is read again
   from its file and cleaned with the product's own cuts, so "unmatched" means a
   spec-z the run could have matched, and the matched fraction is the run's.

The figure is drawn on a matplotlib ``Figure`` with the Agg canvas, never through
pyplot, so it works without a display and leaves the caller's backend and open
figures alone. :func:`save_png` writes it under a temporary name and moves it into
place. Gathering what is drawn from the registry and the spec-z file is
:func:`tsmaker.manage.products.plot_product`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker import atomic
from tsmaker.columns import (
    MATCH_DISTANCE_COLUMN,
    MATCH_RANK_COLUMN,
    SPECZ_ROW_COLUMN,
    band_columns,
)
from tsmaker.formats.tables import product_columns, read_product_table
from tsmaker.science.photometry import AB_ZERO_POINT_NJY

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

    from tsmaker.registry.records import ProductRecord

#: Most spec-z drawn on the sky panel; a larger catalog is drawn from a fixed random sample.
MAX_SKY_POINTS = 200_000
_FIGURE_SIZE_INCHES = (12.0, 9.0)
_DPI = 100
_HISTOGRAM_BINS = 50


# ------------------------------------------------------------------- reading


class ProductContent:
    """The product columns the panels need, and the names they were found under."""

    def __init__(self, frame: pd.DataFrame, columns: dict[str, str | None],
                 bands: dict[str, str], magnitudes_from_flux: bool, zero_point: float) -> None:
        self.frame = frame
        self.columns = columns
        """Role (z, key, rank, distance) -> product column, None when absent."""
        self.bands = bands
        """Band -> magnitude column, or flux column when ``magnitudes_from_flux``."""
        self.magnitudes_from_flux = magnitudes_from_flux
        self.zero_point = zero_point

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
        dereddened = is_dereddened(parameters)
        bands: dict[str, str] = {}
        magnitudes_from_flux = False
        if flux_type:
            names = {b: band_columns(flux_type, b) for b in parameters.get("bands") or []}
            magnitude_names = {b: n.magnitude(dereddened=dereddened)[0] for b, n in names.items()}
            flux_names = {b: n.dereddened_flux()[0] if dereddened else n.flux
                          for b, n in names.items()}
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
        return cls(frame, columns, bands, magnitudes_from_flux, zero_point)

    def nearest(self) -> pd.DataFrame:
        """The rows of each spec-z's nearest match (all rows without a rank column)."""
        rank = self.columns["rank"]
        if rank is None:
            return self.frame
        return self.frame[self.frame[rank] == 1]


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


# ------------------------------------------------------------------- drawing


def save_png(figure: Figure, target: Path) -> Path:
    """Write the figure as a PNG, atomically; return ``target``."""
    with atomic.atomic_path(Path(target), replace=True) as temporary:
        # format is explicit because the temporary name does not end in .png
        figure.savefig(temporary, format="png", dpi=_DPI)
    return Path(target)


def draw_overview(product: ProductRecord, content: ProductContent, sky: Sky) -> Figure:
    """The four-panel overview of the module docstring, on a fresh Agg figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_FIGURE_SIZE_INCHES, layout="constrained")
    FigureCanvasAgg(figure)
    (redshift_axes, magnitude_axes), (distance_axes, sky_axes) = figure.subplots(2, 2)
    _draw_redshift(redshift_axes, content)
    _draw_magnitudes(magnitude_axes, content, product.parameters)
    _draw_distances(distance_axes, content)
    _draw_sky(sky_axes, sky)

    rows = product.rows if product.rows is not None else len(content.frame)
    fraction = sky.matched_fraction
    if fraction is None:
        fraction = product.summary.get("matched_fraction")
    fraction_text = f"{fraction:.1%}" if isinstance(fraction, int | float) else "unknown"
    figure.suptitle(
        f"{product.full_name}: {rows:,} rows, matched fraction {fraction_text}", fontsize=14
    )
    return figure


def _draw_redshift(axes: Axes, content: ProductContent) -> None:
    import numpy as np

    axes.set_title("Redshift of matched spec-z (nearest match)")
    column = content.columns["z"]
    if column is None:
        _note(axes, "no redshift column in the product")
        return
    z = _finite(content.nearest()[column].to_numpy(dtype=np.float64, na_value=np.nan))
    if not len(z):
        _note(axes, "no matched spec-z")
        return
    axes.hist(z, bins=_HISTOGRAM_BINS, color="tab:blue")
    axes.set_xlabel(f"{column}")
    axes.set_ylabel("spec-z")


def _draw_magnitudes(axes: Axes, content: ProductContent, parameters: dict) -> None:
    import numpy as np

    from tsmaker.science.photometry import flux_to_mag

    dered = is_dereddened(parameters)
    axes.set_title("Magnitudes" + (" (dereddened)" if dered else "")
                   + (", from fluxes" if content.magnitudes_from_flux else ""))
    if not content.bands:
        _note(axes, "no magnitude or flux columns in the product")
        return
    nearest = content.nearest()
    magnitudes = {}
    for band, column in content.bands.items():
        values = nearest[column].to_numpy(dtype=np.float64, na_value=np.nan)
        if content.magnitudes_from_flux:
            values = flux_to_mag(values, content.zero_point)
        magnitudes[band] = _finite(values)
    everything = np.concatenate(list(magnitudes.values()))
    if not len(everything):
        _note(axes, "no finite magnitudes")
        return
    # Percentiles keep a few faint, noisy fluxes from stretching every histogram.
    low, high = np.percentile(everything, [0.5, 99.5])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    bins = np.linspace(low, high, _HISTOGRAM_BINS + 1)
    for band, values in magnitudes.items():
        axes.hist(values, bins=bins, histtype="step", linewidth=1.5,
                  label=f"{band} ({len(values):,})")
    axes.set_xlabel("AB magnitude")
    axes.set_ylabel("objects")
    axes.legend(fontsize="small")


def _draw_distances(axes: Axes, content: ProductContent) -> None:
    import numpy as np

    axes.set_title("Match distance")
    distance, rank = content.columns["distance"], content.columns["rank"]
    if distance is None:
        _note(axes, f"no {MATCH_DISTANCE_COLUMN} column in the product")
        return
    values = content.frame[distance].to_numpy(dtype=np.float64, na_value=np.nan)
    ranks = (content.frame[rank].to_numpy(dtype=np.float64, na_value=np.nan)
             if rank is not None else np.ones(len(values)))
    nearest, further = _finite(values[ranks == 1]), _finite(values[ranks > 1])
    if not len(nearest) and not len(further):
        _note(axes, "no matches")
        return
    high = float(np.max(np.concatenate([nearest, further])))
    bins = np.linspace(0.0, high if high > 0 else 1.0, _HISTOGRAM_BINS + 1)
    axes.hist(nearest, bins=bins, color="tab:blue", alpha=0.8,
              label=f"nearest, rank 1 ({len(nearest):,})")
    if len(further):
        axes.hist(further, bins=bins, color="tab:orange", alpha=0.6,
                  label=f"rank > 1 ({len(further):,})")
    axes.set_xlabel("match distance [arcsec]")
    axes.set_ylabel("matches")
    axes.legend(fontsize="small")


def _draw_sky(axes: Axes, sky: Sky) -> None:
    import numpy as np

    axes.set_title("Spec-z on the sky")
    if sky.problem is not None:
        _note(axes, sky.problem)
        return
    ra, dec, matched = sky.ra, sky.dec, sky.matched
    if not len(ra):
        _note(axes, "no spec-z left after the product's cuts")
        return
    counts = (int(matched.sum()), int((~matched).sum()))
    if len(ra) > MAX_SKY_POINTS:
        chosen = np.random.default_rng(0).choice(len(ra), MAX_SKY_POINTS, replace=False)
        ra, dec, matched = ra[chosen], dec[chosen], matched[chosen]
        axes.set_title(f"Spec-z on the sky (random {MAX_SKY_POINTS:,} shown)")
    ra = plot_ra(ra)
    size = 4.0 if len(ra) < 5_000 else 0.5
    axes.scatter(ra[~matched], dec[~matched], s=size, color="tab:red", alpha=0.6,
                 label=f"unmatched ({counts[1]:,})", rasterized=True)
    axes.scatter(ra[matched], dec[matched], s=size, color="tab:blue", alpha=0.6,
                 label=f"matched ({counts[0]:,})", rasterized=True)
    axes.set_xlabel("RA [deg]")
    axes.set_ylabel("Dec [deg]")
    axes.invert_xaxis()  # RA grows to the east, drawn to the left as on the sky
    axes.legend(fontsize="small", markerscale=3 if size < 1 else 1)


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


def _finite(values: np.ndarray) -> np.ndarray:
    import numpy as np

    return values[np.isfinite(values)]


def _note(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])
