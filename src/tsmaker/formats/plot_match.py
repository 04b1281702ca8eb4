"""The match panels of the overview plot: redshifts, magnitudes, match distances, the sky."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsmaker.columns import MATCH_DISTANCE_COLUMN
from tsmaker.formats.plot_content import ProductContent, Sky, finite, is_dereddened, note, plot_ra

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Most spec-z drawn on the sky panel; a larger catalog is drawn from a fixed random sample.
MAX_SKY_POINTS = 200_000
HISTOGRAM_BINS = 50


def draw_redshift(axes: Axes, content: ProductContent) -> None:
    """The redshift histogram of the matched spec-z (nearest matches)."""
    import numpy as np

    axes.set_title("Redshift of matched spec-z (nearest match)")
    column = content.columns["z"]
    if column is None:
        note(axes, "no redshift column in the product")
        return
    z = finite(content.nearest()[column].to_numpy(dtype=np.float64, na_value=np.nan))
    if not len(z):
        note(axes, "no matched spec-z")
        return
    axes.hist(z, bins=HISTOGRAM_BINS, color="tab:blue")
    axes.set_xlabel(f"{column}")
    axes.set_ylabel("spec-z")


def draw_magnitudes(axes: Axes, content: ProductContent, parameters: dict) -> None:
    """Each band's magnitude distribution of the nearest matches."""
    import numpy as np

    dered = is_dereddened(parameters)
    axes.set_title("Magnitudes" + (" (dereddened)" if dered else "")
                   + (", from fluxes" if content.magnitudes_from_flux else ""))
    if not content.bands:
        note(axes, "no magnitude or flux columns in the product")
        return
    magnitudes = {band: finite(values)
                  for band, values in content.magnitudes(content.nearest()).items()}
    everything = np.concatenate(list(magnitudes.values()))
    if not len(everything):
        note(axes, "no finite magnitudes")
        return
    # Percentiles keep a few faint, noisy fluxes from stretching every histogram.
    low, high = np.percentile(everything, [0.5, 99.5])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    bins = np.linspace(low, high, HISTOGRAM_BINS + 1)
    for band, values in magnitudes.items():
        axes.hist(values, bins=bins, histtype="step", linewidth=1.5,
                  label=f"{band} ({len(values):,})")
    axes.set_xlabel("AB magnitude")
    axes.set_ylabel("objects")
    axes.legend(fontsize="small")


def draw_distances(axes: Axes, content: ProductContent) -> None:
    """The match-distance histogram, nearest matches and further ones apart."""
    import numpy as np

    axes.set_title("Match distance")
    distance, rank = content.columns["distance"], content.columns["rank"]
    if distance is None:
        note(axes, f"no {MATCH_DISTANCE_COLUMN} column in the product")
        return
    values = content.frame[distance].to_numpy(dtype=np.float64, na_value=np.nan)
    ranks = (content.frame[rank].to_numpy(dtype=np.float64, na_value=np.nan)
             if rank is not None else np.ones(len(values)))
    nearest, further = finite(values[ranks == 1]), finite(values[ranks > 1])
    if not len(nearest) and not len(further):
        note(axes, "no matches")
        return
    high = float(np.max(np.concatenate([nearest, further])))
    bins = np.linspace(0.0, high if high > 0 else 1.0, HISTOGRAM_BINS + 1)
    axes.hist(nearest, bins=bins, color="tab:blue", alpha=0.8,
              label=f"nearest, rank 1 ({len(nearest):,})")
    if len(further):
        axes.hist(further, bins=bins, color="tab:orange", alpha=0.6,
                  label=f"rank > 1 ({len(further):,})")
    axes.set_xlabel("match distance [arcsec]")
    axes.set_ylabel("matches")
    axes.legend(fontsize="small")


def draw_sky(axes: Axes, sky: Sky) -> None:
    """The spec-z the run could match, on the sky, matched and unmatched."""
    import numpy as np

    axes.set_title("Spec-z on the sky")
    if sky.problem is not None:
        note(axes, sky.problem)
        return
    ra, dec, matched = sky.ra, sky.dec, sky.matched
    if not len(ra):
        note(axes, "no spec-z left after the product's cuts")
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
