"""The photometry of the mock Object catalogs: DP1's flux types, colours, errors and gaps.

Calibrated on 1,000 real DP1 Objects (cModel): per-band sky noise, the share of
objects without a measurement, a colour model driven by one latent redness, and how
each flux type loses light for point sources and extended galaxies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tsmaker.columns import band_columns
from tsmaker.inputs.profiles import BANDS
from tsmaker.science.photometry import AB_ZERO_POINT_NJY


class _FluxTypeModel(NamedTuple):
    """How one DP1 flux type differs from the total (cModel) flux of an object."""

    point_offset_mag: float
    """Magnitude lost by a point source (aperture smaller than the PSF)."""
    size_offset_mag: float
    """Extra magnitude lost per unit of galaxy size (0 for total-flux measurements)."""
    error_scale: float
    """Flux error relative to the cModel error of the same object."""
    flag_template: str | None
    """Real DP1 name of the per-band failure flag, ``{band}`` filled in; None if none."""


# Offsets and error ratios follow the usual ordering of DP1 photometry (PSF and small
# GAaP apertures are fainter and less noisy for galaxies, big apertures the opposite).
FLUX_TYPE_MODELS: dict[str, _FluxTypeModel] = {
    "cModel": _FluxTypeModel(0.0, 0.0, 1.00, "{band}_cModel_flag"),
    "free_cModel": _FluxTypeModel(0.0, 0.02, 1.05, "{band}_free_cModelFlux_flag"),
    "psf": _FluxTypeModel(0.0, 1.00, 0.70, "{band}_psfFlux_flag"),
    "free_psf": _FluxTypeModel(0.0, 1.00, 0.72, "{band}_free_psfFlux_flag"),
    "gaapPsf": _FluxTypeModel(0.05, 0.90, 0.70, "{band}_gaapFlux_flag"),
    "gaap0p7": _FluxTypeModel(0.10, 0.80, 0.62, "{band}_gaapFlux_flag"),
    "gaap1p0": _FluxTypeModel(0.04, 0.60, 0.75, "{band}_gaapFlux_flag"),
    "gaap1p5": _FluxTypeModel(0.02, 0.40, 0.95, "{band}_gaapFlux_flag"),
    "gaap2p5": _FluxTypeModel(0.01, 0.20, 1.30, "{band}_gaapFlux_flag"),
    "gaap3p0": _FluxTypeModel(0.0, 0.15, 1.50, "{band}_gaapFlux_flag"),
    "gaapOptimal": _FluxTypeModel(0.03, 0.50, 0.80, "{band}_gaapFlux_flag"),
    "kron": _FluxTypeModel(0.02, 0.08, 1.40, "{band}_kronFlux_flag"),
    "sersic": _FluxTypeModel(0.0, 0.0, 1.00, None),
    "calib": _FluxTypeModel(0.02, 0.35, 1.10, "{band}_calibFlux_flag"),
    "ap03": _FluxTypeModel(1.00, 1.80, 0.30, "{band}_ap03Flux_flag"),
    "ap06": _FluxTypeModel(0.30, 1.20, 0.55, "{band}_ap06Flux_flag"),
    "ap09": _FluxTypeModel(0.10, 0.70, 0.80, "{band}_ap09Flux_flag"),
    "ap12": _FluxTypeModel(0.04, 0.35, 1.05, "{band}_ap12Flux_flag"),
    "ap17": _FluxTypeModel(0.02, 0.20, 1.50, "{band}_ap17Flux_flag"),
    "ap25": _FluxTypeModel(0.01, 0.10, 2.20, "{band}_ap25Flux_flag"),
    "ap35": _FluxTypeModel(0.0, 0.05, 3.10, "{band}_ap35Flux_flag"),
    "ap50": _FluxTypeModel(0.0, 0.02, 4.40, "{band}_ap50Flux_flag"),
    "ap70": _FluxTypeModel(0.0, 0.0, 6.20, "{band}_ap70Flux_flag"),
}
"""Every per-band flux type of the DP1 Object table that the mock can generate."""

# Per-band photometric model, calibrated on 1,000 real DP1 Objects (cModel): median
# flux error in nJy for a faint source, and the share of objects without a measurement.
_SKY_ERROR_NJY = {"u": 115.0, "g": 52.0, "r": 71.0, "i": 95.0, "z": 320.0, "y": 500.0}
_MISSING_FRACTION = {"u": 0.10, "g": 0.04, "r": 0.035, "i": 0.04, "z": 0.08, "y": 0.12}
_TYPE_FAILURE_FRACTION = 0.01
# Poisson term of the error: error**2 = sky**2 + gain * flux, all in nJy.
_POISSON_GAIN_NJY = 0.6
# Colours as (constant, slope with the latent redness t in [0, 1], scatter), in mag.
_COLOUR_MODEL = {
    ("u", "g"): (0.30, 1.20, 0.25),
    ("g", "r"): (0.10, 0.90, 0.10),
    ("r", "i"): (0.10, 0.55, 0.08),
    ("i", "z"): (0.05, 0.40, 0.08),
    ("z", "y"): (0.02, 0.20, 0.08),
}
# r-band number counts: dN/dm ~ 10**(slope m) between the limits, plus a faint tail of
# forced measurements (the source of most negative fluxes).
_COUNT_SLOPE_PER_MAG = 0.33
_BRIGHT_LIMIT_MAG = 15.5
_FAINT_LIMIT_MAG = 25.4
_FAINT_TAIL_FRACTION = 0.10
_FAINT_TAIL_RANGE_MAG = (25.4, 29.0)



@dataclass(frozen=True)
class DrawnPhotometry:
    """The photometric columns of a mock catalog and the latent values behind them."""

    columns: dict[str, np.ndarray]
    """``refExtendedness`` and every ``{band}_{type}Flux`` / ``FluxErr``."""
    r_mag: np.ndarray
    """True r-band magnitude of each object."""
    size: np.ndarray
    """Galaxy size, in magnitudes lost by a PSF measurement (0 for stars)."""
    missing_band: dict[str, np.ndarray]
    """Per band, True where the object has no measurement."""


def draw_photometry(
    rng: np.random.Generator, n_rows: int, flux_types: Sequence[str]
) -> DrawnPhotometry:
    """Draw stars' and galaxies' magnitudes, then every flux type's fluxes and errors.

    The random numbers are drawn in a fixed order, so a seed gives the same catalog.
    """
    columns: dict[str, np.ndarray] = {}
    r_mag = _r_band_magnitudes(rng, n_rows)
    # Bright objects are more often stars.
    star_probability = 0.12 + 0.4 / (1.0 + np.exp((r_mag - 21.0) / 1.0))
    is_star = rng.random(n_rows) < star_probability
    columns["refExtendedness"] = np.where(is_star, 0.0, 1.0).astype(np.float32)
    # Galaxy size in units of "magnitudes lost by a PSF measurement"; fainter is smaller.
    size = (
        rng.lognormal(np.log(0.7), 0.5, n_rows) * np.clip(1.0 - 0.08 * (r_mag - 20.0), 0.3, 1.5)
    ).astype(np.float32)
    size[is_star] = 0.0
    mags = _band_magnitudes(rng, r_mag, is_star)
    depth = rng.lognormal(0.0, 0.3, n_rows).astype(np.float32)
    missing_band = {
        band: rng.random(n_rows, dtype=np.float32) < _MISSING_FRACTION[band] for band in BANDS
    }

    ln10 = np.float32(np.log(10.0))
    band_flux = {
        band: np.exp(np.float32(-0.4) * ln10 * (mags[band] - np.float32(AB_ZERO_POINT_NJY)))
        for band in BANDS
    }
    for flux_type in flux_types:
        model = FLUX_TYPE_MODELS[flux_type]
        offset = model.point_offset_mag + model.size_offset_mag * size
        type_factor = np.exp(np.float32(-0.4) * ln10 * offset).astype(np.float32)
        # Total-flux measurements of big galaxies are noisier.
        error_scale = (model.error_scale * depth * (1.0 + 0.3 * size)).astype(np.float32)
        for band in BANDS:
            true_flux = band_flux[band] * type_factor
            sky_error = np.float32(_SKY_ERROR_NJY[band]) * error_scale
            error = np.sqrt(sky_error * sky_error + np.float32(_POISSON_GAIN_NJY) * true_flux)
            flux = true_flux + error * rng.standard_normal(n_rows, dtype=np.float32)
            failed = missing_band[band] | (
                rng.random(n_rows, dtype=np.float32) < _TYPE_FAILURE_FRACTION
            )
            flux[failed] = np.nan
            error[failed] = np.nan
            names = band_columns(flux_type, band)
            columns[names.flux] = flux
            columns[names.flux_err] = error
    return DrawnPhotometry(columns, r_mag, size, missing_band)


def _r_band_magnitudes(rng: np.random.Generator, n: int) -> np.ndarray:
    """True r magnitudes: power-law number counts plus a faint forced-photometry tail."""
    slope = _COUNT_SLOPE_PER_MAG * np.log(10.0)
    span = _FAINT_LIMIT_MAG - _BRIGHT_LIMIT_MAG
    uniform = rng.random(n)
    mag = (
        _FAINT_LIMIT_MAG
        + np.log(np.exp(-slope * span) + uniform * (1.0 - np.exp(-slope * span))) / slope
    )
    faint = rng.random(n) < _FAINT_TAIL_FRACTION
    mag[faint] = rng.uniform(*_FAINT_TAIL_RANGE_MAG, int(faint.sum()))
    return mag.astype(np.float32)


def _band_magnitudes(
    rng: np.random.Generator, r_mag: np.ndarray, is_star: np.ndarray
) -> dict[str, np.ndarray]:
    """True magnitudes in every band from r and correlated colours."""
    n = len(r_mag)
    redness = rng.beta(2.0, 2.0, n).astype(np.float32)
    # Stars follow a tighter, bluer-to-redder locus.
    redness[is_star] = rng.beta(1.2, 2.5, int(is_star.sum())).astype(np.float32)
    colour = {
        pair: (const + slope * redness + rng.standard_normal(n, dtype=np.float32) * scatter).astype(
            np.float32
        )
        for pair, (const, slope, scatter) in _COLOUR_MODEL.items()
    }
    mags = {"r": r_mag}
    mags["g"] = r_mag + colour[("g", "r")]
    mags["u"] = mags["g"] + colour[("u", "g")]
    mags["i"] = r_mag - colour[("r", "i")]
    mags["z"] = mags["i"] - colour[("i", "z")]
    mags["y"] = mags["z"] - colour[("z", "y")]
    return mags
