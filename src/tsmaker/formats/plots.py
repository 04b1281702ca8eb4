"""A one-page PNG overview of a finished product, and the numbers behind it.

Nine panels, in a 3x3 figure:

1. the redshift histogram of the matched spec-z (``match_rank == 1`` rows);
2. the magnitude distribution of each band (``{band}_{flux_type}Mag``, ``..._Mag_dered``
   when the product was dereddened, ``mag_{band}_lsst`` under ``--naming rail``;
   computed from the fluxes with the product's zero point when it holds fluxes only);
3. the match-distance histogram, nearest matches and further ones in two colours;
4. the spec-z catalog on the sky, matched and unmatched. The catalog is read again
   from its file and cleaned with the product's own cuts, so "unmatched" means a
   spec-z the run could have matched, and the matched fraction is the run's;
5. redshift against magnitude, and 6. colours against redshift (nearest matches);
7. the training and photometric magnitude distributions, normalised, with each band's
   50%-completeness magnitude;
8. the colour-colour coverage map (cells with photometric objects but no training
   galaxy hatched in red), and 9. the coverage fraction per magnitude bin: both from
   the product's ``summary["representativeness"]``.

Panels 1-4 are drawn by :mod:`tsmaker.formats.plot_match`, 5-9 by
:mod:`tsmaker.formats.plot_training`. The figure is drawn on a matplotlib ``Figure``
with the Agg canvas, never through pyplot, so it works without a display and leaves the
caller's backend and open figures alone. :func:`save_png` writes it under a temporary
name and moves it into place. Gathering what is drawn from the registry and the spec-z
file is :func:`tsmaker.manage.products.plot_product`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from tsmaker import atomic
from tsmaker.formats import plot_match, plot_training
from tsmaker.formats.plot_content import ProductContent, Sky

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tsmaker.formats.plot_training import NormalisedHistograms
    from tsmaker.registry.records import ProductRecord
    from tsmaker.science.coverage import ColourColourMap, MagnitudeBinCoverage

_FIGURE_SIZE_INCHES = (18.0, 15.0)
_DPI = 100


def save_png(figure: Figure, target: Path) -> Path:
    """Write the figure as a PNG, atomically; return ``target``."""
    with atomic.atomic_path(Path(target), replace=True) as temporary:
        # format is explicit because the temporary name does not end in .png
        figure.savefig(temporary, format="png", dpi=_DPI)
    return Path(target)


class CoverageFigures(TypedDict):
    """The numbers behind the coverage panels (:func:`coverage_figures`).

    A figure a product does not hold (made by an older tsmaker) is None.
    """

    coverage_fraction: float | None
    coverage_fraction_by_magnitude: list[MagnitudeBinCoverage] | None
    completeness_50_mag: dict[str, float | None] | None
    bands: list[str] | None
    photometric_sample: dict[str, object] | None
    training_objects: int | None
    magnitude_distributions: NormalisedHistograms
    colour_colour_map: ColourColourMap | None


def coverage_figures(product: ProductRecord) -> CoverageFigures | None:
    """The numbers behind the coverage panels of a product.

    Its representativeness figures, its magnitude distributions normalised, and the
    colour-colour coverage map. None for a product without them (no photometry, or
    made before they existed).
    """
    from tsmaker.science.coverage import colour_colour_map

    figures = (product.summary or {}).get("representativeness")
    if not figures:
        return None
    grid = figures.get("grid")
    return {
        "coverage_fraction": figures.get("coverage_fraction"),
        "coverage_fraction_by_magnitude": figures.get("coverage_fraction_by_magnitude"),
        "completeness_50_mag": figures.get("completeness_50_mag"),
        "bands": figures.get("bands"),
        "photometric_sample": figures.get("photometric_sample"),
        "training_objects": figures.get("training_objects"),
        "magnitude_distributions": plot_training.normalised_histograms(figures),
        "colour_colour_map": colour_colour_map(grid) if grid else None,
    }


def draw_overview(product: ProductRecord, content: ProductContent, sky: Sky) -> Figure:
    """The nine-panel overview of the module docstring, on a fresh Agg figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_FIGURE_SIZE_INCHES, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(3, 3)
    representativeness = (product.summary or {}).get("representativeness")
    numbers = coverage_figures(product)
    plot_match.draw_redshift(axes[0, 0], content)
    plot_match.draw_magnitudes(axes[0, 1], content, product.parameters)
    plot_match.draw_distances(axes[0, 2], content)
    plot_match.draw_sky(axes[1, 0], sky)
    plot_training.draw_redshift_magnitude(axes[1, 1], content, representativeness)
    plot_training.draw_colours_redshift(axes[1, 2], content, representativeness)
    plot_training.draw_distributions(axes[2, 0], representativeness)
    plot_training.draw_coverage_map(axes[2, 1], numbers["colour_colour_map"] if numbers
                                    else None, representativeness)
    plot_training.draw_coverage_by_magnitude(axes[2, 2], representativeness)

    rows = product.rows if product.rows is not None else len(content.frame)
    fraction = sky.matched_fraction
    if fraction is None:
        fraction = product.summary.get("matched_fraction")
    fraction_text = f"{fraction:.1%}" if isinstance(fraction, int | float) else "unknown"
    coverage = (representativeness or {}).get("coverage_fraction")
    coverage_text = f", coverage {coverage:.1%}" if coverage is not None else ""
    figure.suptitle(
        f"{product.full_name}: {rows:,} rows, matched fraction {fraction_text}{coverage_text}",
        fontsize=15,
    )
    return figure
