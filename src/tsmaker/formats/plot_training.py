"""The training-set panels of the overview plot: what a photo-z scientist looks at first.

Redshift against magnitude and colours against redshift (the product's nearest
matches), then, from the representativeness figures of the product's summary
(:mod:`tsmaker.science.representativeness`): the training and photometric magnitude
distributions, each normalised to unit area, the colour-colour coverage map (cells with
photometric objects but no training galaxy hatched in red) and the coverage fraction
per magnitude bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict

from tsmaker.formats.plot_content import ProductContent, note

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes

    from tsmaker.science.coverage import ColourColourMap, RepresentativenessFigures

#: Most nearest matches drawn as points; more are drawn as a density (hexagonal bins).
MAX_POINTS = 20_000
_REDSHIFT_BINS = 20
_NO_FIGURES = ("no representativeness figures in this product\n(made without photometry, "
               "or by a tsmaker before they existed)")


class NormalisedHistograms(TypedDict):
    """Per band, each sample's magnitude histogram scaled to unit area (None when empty)."""

    bin_edges: list[float]
    training: dict[str, list[float] | None]
    photometric: dict[str, list[float] | None]


def normalised_histograms(figures: RepresentativenessFigures) -> NormalisedHistograms:
    """The training and photometric magnitude histograms, each of unit area, per band.

    Examples
    --------
    >>> figures = {"bands": ["i"], "histograms": {
    ...     "bins": {"start_mag": 20.0, "stop_mag": 21.0, "step_mag": 0.5},
    ...     "training": {"i": [1, 3]}, "photometric": {"i": [0, 0]}}}
    >>> normalised_histograms(figures)
    {'bin_edges': [20.0, 20.5, 21.0], 'training': {'i': [0.5, 1.5]}, 'photometric': {'i': None}}
    """
    import numpy as np

    histograms = figures["histograms"]
    bins = histograms["bins"]
    step = float(bins["step_mag"])
    count = round((float(bins["stop_mag"]) - float(bins["start_mag"])) / step)
    edges = float(bins["start_mag"]) + step * np.arange(count + 1)

    def unit_area(counts_by_band: Mapping[str, list[int]]) -> dict[str, list[float] | None]:
        shares: dict[str, list[float] | None] = {}
        for band in figures.get("bands") or list(counts_by_band):
            counts = np.asarray(counts_by_band[band], dtype=np.float64)
            total = counts.sum()
            shares[band] = (
                [round(float(v), 6) for v in counts / (total * step)] if total else None
            )
        return shares

    return {"bin_edges": [round(float(e), 6) for e in edges],
            "training": unit_area(histograms["training"]),
            "photometric": unit_area(histograms["photometric"])}


def reference_band(content: ProductContent,
                   figures: RepresentativenessFigures | None) -> str | None:
    """The magnitude shown against redshift: the coverage grid's, else the middle band."""
    grid = figures.get("grid") if figures else None
    band = grid.get("magnitude_band") if grid else None
    if band in content.bands:
        return band
    bands = list(content.bands)
    return bands[len(bands) // 2] if bands else None


def colours_of(content: ProductContent,
               figures: RepresentativenessFigures | None) -> list[tuple[str, str]]:
    """The colours shown against redshift: the coverage grid's, else consecutive bands."""
    grid = figures.get("grid") if figures else None
    pairs = [tuple(name.split("-", 1)) for name in (grid.get("colours", []) if grid else [])]
    pairs = [pair for pair in pairs if len(pair) == 2 and set(pair) <= set(content.bands)]
    if pairs:
        return pairs  # type: ignore[return-value]
    bands = list(content.bands)
    return list(zip(bands[:-1], bands[1:], strict=True))[:3]


def draw_redshift_magnitude(axes: Axes, content: ProductContent,
                            figures: RepresentativenessFigures | None) -> None:
    """Spectroscopic redshift against the reference band's magnitude."""
    import numpy as np

    axes.set_title("Redshift vs magnitude (nearest matches)")
    band, z_column = reference_band(content, figures), content.columns["z"]
    if band is None or z_column is None:
        note(axes, "no magnitudes or no redshift column in the product")
        return
    nearest = content.nearest()
    magnitude = content.magnitudes(nearest)[band]
    z = nearest[z_column].to_numpy(dtype=np.float64, na_value=np.nan)
    both = np.isfinite(magnitude) & np.isfinite(z)
    if not both.any():
        note(axes, f"no spec-z with a finite {band} magnitude")
        return
    _points(axes, magnitude[both], z[both], "tab:blue")
    axes.set_xlabel(f"{band} [AB mag]")
    axes.set_ylabel(f"{z_column}")


def draw_colours_redshift(axes: Axes, content: ProductContent,
                          figures: RepresentativenessFigures | None) -> None:
    """Each colour against redshift: the points and their running median."""
    import numpy as np

    axes.set_title("Colours vs redshift (nearest matches; lines: median)")
    pairs, z_column = colours_of(content, figures), content.columns["z"]
    if not pairs or z_column is None:
        note(axes, "no colours or no redshift column in the product")
        return
    nearest = content.nearest()
    magnitudes = content.magnitudes(nearest)
    z = nearest[z_column].to_numpy(dtype=np.float64, na_value=np.nan)
    drawn = []
    for number, (blue, red) in enumerate(pairs):
        colour = magnitudes[blue] - magnitudes[red]
        both = np.isfinite(colour) & np.isfinite(z)
        if not both.any():
            continue
        drawn.append(colour[both])
        tint = f"C{number}"
        axes.scatter(z[both], colour[both], s=1.5, alpha=0.15, color=tint, rasterized=True)
        edges = np.quantile(z[both], np.linspace(0.0, 1.0, _REDSHIFT_BINS + 1))
        which = np.clip(np.searchsorted(edges, z[both], side="right") - 1, 0, _REDSHIFT_BINS - 1)
        centres = [np.median(z[both][which == k]) for k in range(_REDSHIFT_BINS) if
                   (which == k).any()]
        medians = [np.median(colour[both][which == k]) for k in range(_REDSHIFT_BINS) if
                   (which == k).any()]
        axes.plot(centres, medians, color=tint, linewidth=2, label=f"{blue}-{red}")
    if not drawn:
        note(axes, "no spec-z with finite colours")
        return
    # Percentiles keep a few noisy colours from squashing the loci.
    low, high = np.percentile(np.concatenate(drawn), [0.5, 99.5])
    axes.set_ylim(low - 0.2, high + 0.2)
    axes.set_xlabel(f"{z_column}")
    axes.set_ylabel("colour [mag]")
    axes.legend(fontsize="small", markerscale=4)


def draw_distributions(axes: Axes, figures: RepresentativenessFigures | None) -> None:
    """Training and photometric magnitudes per band, normalised; 50% completeness marked."""
    import numpy as np

    axes.set_title("Magnitudes: training (solid) vs photometric (dashed), unit area")
    if not figures:
        note(axes, _NO_FIGURES)
        return
    histograms = normalised_histograms(figures)
    edges = np.asarray(histograms["bin_edges"])
    completeness = figures.get("completeness_50_mag") or {}
    shown = []
    for number, band in enumerate(figures.get("bands") or []):
        training, photometric = histograms["training"][band], histograms["photometric"][band]
        tint = f"C{number}"
        if photometric is not None:
            axes.stairs(photometric, edges, color=tint, linestyle="--", linewidth=1.2)
            shown.append(np.asarray(photometric))
        limit = completeness.get(band)
        if training is not None:
            label = band + (f" (50% at {limit:.1f})" if limit is not None else "")
            axes.stairs(training, edges, color=tint, linewidth=1.8, label=label)
            shown.append(np.asarray(training))
        if limit is not None:
            axes.axvline(limit, color=tint, linestyle=":", linewidth=1)
    if not shown:
        note(axes, "no finite magnitudes")
        return
    occupied = np.flatnonzero(np.sum(shown, axis=0) > 0)
    axes.set_xlim(edges[occupied[0]] - 0.5, edges[occupied[-1] + 1] + 0.5)
    axes.set_xlabel("AB magnitude")
    axes.set_ylabel("objects per mag (unit area)")
    axes.legend(fontsize="small", title="training band (50% completeness)",
                title_fontsize="small")


def draw_coverage_map(axes: Axes, view: ColourColourMap | None,
                      figures: RepresentativenessFigures | None) -> None:
    """The colour-colour coverage map of :func:`colour_colour_map`."""
    import numpy as np
    from matplotlib.patches import Rectangle

    axes.set_title("Colour-colour coverage: share of photometric objects in cells with "
                   "training")
    if view is None:
        note(axes, _NO_FIGURES if not figures else "no colour-magnitude grid for these bands")
        return
    x_edges, y_edges = np.asarray(view["x_edges"]), np.asarray(view["y_edges"])
    fraction = np.array([[np.nan if v is None else v for v in row]
                         for row in view["covered_fraction"]], dtype=np.float64)
    photometric = np.asarray(view["photometric"])
    training = np.asarray(view["training"])
    image = axes.pcolormesh(x_edges, y_edges, fraction.T, cmap="viridis", vmin=0.0, vmax=1.0)
    axes.figure.colorbar(image, ax=axes, label="covered share of photometric objects")
    for i in range(len(x_edges) - 1):
        for j in range(len(y_edges) - 1):
            if photometric[i, j] == 0:
                continue
            if training[i, j] == 0:
                axes.add_patch(Rectangle((x_edges[i], y_edges[j]), x_edges[i + 1] - x_edges[i],
                                         y_edges[j + 1] - y_edges[j], fill=False,
                                         edgecolor="red", hatch="///", linewidth=1.5))
            axes.text((x_edges[i] + x_edges[i + 1]) / 2, (y_edges[j] + y_edges[j + 1]) / 2,
                      f"{photometric[i, j]:,}\n{training[i, j]:,}", ha="center", va="center",
                      fontsize=6, color="white" if fraction[i, j] < 0.6 else "black")
    axes.set_title(
        "Colour-colour coverage (numbers: photometric / training objects)\n"
        f"hatched: no training galaxy ({view['uncovered_cells']} cells, "
        f"{view['uncovered_photometric_objects']:,} photometric objects)",
        fontsize="medium",
    )
    axes.set_xlabel(f"{view['x']} [mag] (edge cells: everything beyond)")
    axes.set_ylabel(f"{view['y']} [mag]")


def draw_coverage_by_magnitude(axes: Axes, figures: RepresentativenessFigures | None) -> None:
    """The coverage fraction in each magnitude bin of the grid, overall as a line."""
    axes.set_title("Coverage fraction by magnitude")
    rows = (figures.get("coverage_fraction_by_magnitude") if figures else None) or []
    if not figures or not rows:
        note(axes, _NO_FIGURES if not figures else "no colour-magnitude grid for these bands")
        return
    grid = figures.get("grid")
    band = grid["magnitude_band"] if grid else ""
    labels, fractions = [], []
    for row in rows:
        low, high = row["magnitude_min"], row["magnitude_max"]
        labels.append(f"<{high:g}" if low is None else f"≥{low:g}" if high is None
                      else f"{low:g}-{high:g}")
        fractions.append(row["fraction"] if row["fraction"] is not None else 0.0)
    positions = range(len(rows))
    bars = axes.bar(positions, fractions, color="tab:green", alpha=0.8)
    for bar, row in zip(bars, rows, strict=True):
        axes.text(bar.get_x() + bar.get_width() / 2, min(bar.get_height(), 0.9) + 0.02,
                  f"{row['photometric_objects']:,}", ha="center", fontsize=6, rotation=90)
    overall = figures.get("coverage_fraction")
    if overall is not None:
        axes.axhline(overall, color="black", linestyle="--", linewidth=1,
                     label=f"overall {overall:.1%}")
        axes.legend(fontsize="small", loc="lower left")
    axes.set_xticks(list(positions), labels, rotation=45, fontsize=7)
    axes.set_ylim(0.0, 1.05)
    axes.set_xlabel(f"{band} [AB mag] (numbers: photometric objects in the bin)")
    axes.set_ylabel("share in cells with a training galaxy")


def _points(axes: Axes, x: np.ndarray, y: np.ndarray, colour: str) -> None:
    """Points, or their density when there are too many to see."""
    if len(x) > MAX_POINTS:
        image = axes.hexbin(x, y, gridsize=60, bins="log", mincnt=1, cmap="Blues")
        axes.figure.colorbar(image, ax=axes, label="spec-z")
    else:
        axes.scatter(x, y, s=3, alpha=0.4, color=colour, rasterized=True)
