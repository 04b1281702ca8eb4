"""Fluxes to AB magnitudes, and Galactic-extinction correction of fluxes.

Conventions
    Rubin fluxes are in nJy; the AB magnitude is ``m = -2.5 log10(flux_nJy) + 31.4``
    (31.4 is the AB zero point for nJy, as Rubin writes it). The magnitude error is
    ``2.5 / ln(10) * err / flux``. A flux that is zero, negative, NaN or missing gives a
    NaN magnitude and a NaN magnitude error: there is no magnitude for it, and a
    training set should not invent one.

    Extinction: ``flux_dered = flux * 10**(0.4 * R_band * E(B-V))``; the flux error is
    scaled by the same factor, so the magnitude error is unchanged. R_band = A_band /
    E(B-V) comes from the catalog profile (see :mod:`tsmaker.inputs.profiles`) with no hidden
    0.86 rescaling of the SFD E(B-V).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, TypeVar

from tsmaker.columns import band_columns
from tsmaker.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike
    from pandas.api.extensions import ExtensionArray

# What add_photometry fills in and returns: a pandas DataFrame or a dict of column arrays.
_Frame = TypeVar(
    "_Frame", bound="pd.DataFrame | MutableMapping[str, np.ndarray | ExtensionArray]"
)

AB_ZERO_POINT_NJY = 31.4
_MAG_ERR_FACTOR = 2.5 / 2.302585092994046  # 2.5 / ln(10)


def flux_to_mag(flux_njy: ArrayLike, zero_point: float = AB_ZERO_POINT_NJY) -> np.ndarray:
    """AB magnitude of a flux in nJy; NaN where the flux is not positive or missing.

    Examples
    --------
    >>> float(flux_to_mag(1.0))
    31.4
    >>> round(float(flux_to_mag(3631e9)), 5)  # 3631 Jy is AB magnitude 0 (to 31.4's rounding)
    -7e-05
    >>> flux_to_mag([-5.0, 0.0]).tolist()
    [nan, nan]
    """
    import numpy as np

    flux = np.asarray(flux_njy, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, -2.5 * np.log10(flux) + zero_point, np.nan)


def flux_err_to_mag_err(flux_njy: ArrayLike, flux_err_njy: ArrayLike) -> np.ndarray:
    """Magnitude error ``2.5/ln(10) * err/flux``; NaN where the flux is not positive."""
    import numpy as np

    flux = np.asarray(flux_njy, dtype=np.float64)
    error = np.asarray(flux_err_njy, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.where(flux > 0, _MAG_ERR_FACTOR * error / flux, np.nan)


def extinction_factor(ebv: ArrayLike, coefficient: float) -> np.ndarray:
    """The flux multiplier ``10**(0.4 * R * E(B-V))`` that removes Galactic extinction."""
    import numpy as np

    return np.power(10.0, 0.4 * coefficient * np.asarray(ebv, dtype=np.float64))


def add_photometry(
    frame: _Frame,
    *,
    flux_type: str,
    bands: Iterable[str],
    magnitudes: bool,
    zero_point: float = AB_ZERO_POINT_NJY,
    ebv: ArrayLike | None = None,
    extinction_coeffs: Mapping[str, float] | None = None,
) -> _Frame:
    """Add magnitude and/or dereddened columns to a frame of matched rows (in place).

    Parameters
    ----------
    frame : pandas.DataFrame or dict of arrays
        Rows with ``{band}_{flux_type}Flux`` and ``...FluxErr`` columns in nJy.
    flux_type : str
        e.g. ``cModel``.
    bands : iterable of str
        Bands to process.
    magnitudes : bool
        Add ``{band}_{type}Mag`` / ``MagErr`` (from the dereddened fluxes when ``ebv`` is
        given, then named ``..._dered``).
    zero_point : float
        AB zero point for the flux unit (31.4 for nJy).
    ebv : array-like, optional
        E(B-V) per row; when given, ``{band}_{type}Flux_dered`` and ``FluxErr_dered`` are
        added.
    extinction_coeffs : mapping, optional
        R_band per band; required with ``ebv``.

    Returns
    -------
    pandas.DataFrame
        The same frame.
    """
    for band in bands:
        names = band_columns(flux_type, band)
        flux = _as_float(frame[names.flux])
        error = _as_float(frame[names.flux_err])
        if ebv is not None:
            if extinction_coeffs is None or band not in extinction_coeffs:
                raise InputError(
                    f"no extinction coefficient for band {band!r}; "
                    "pass it with --extinction-coeffs"
                )
            factor = extinction_factor(ebv, extinction_coeffs[band])
            flux = flux * factor
            error = error * factor
            flux_name, error_name = names.dereddened_flux()
            frame[flux_name] = flux
            frame[error_name] = error
        if magnitudes:
            mag_name, mag_error_name = names.magnitude(dereddened=ebv is not None)
            frame[mag_name] = flux_to_mag(flux, zero_point)
            frame[mag_error_name] = flux_err_to_mag_err(flux, error)
    return frame


def band_magnitudes(
    columns: Mapping[str, ArrayLike],
    *,
    flux_type: str,
    bands: Iterable[str],
    zero_point: float = AB_ZERO_POINT_NJY,
    ebv: ArrayLike | None = None,
    extinction_coeffs: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """The AB magnitude of each band, keyed by band: what :func:`add_photometry` adds.

    From the fluxes ``{band}_{flux_type}Flux`` of ``columns``, dereddened with ``ebv``
    and ``extinction_coeffs`` when ``ebv`` is given; NaN where the flux is not positive.

    Examples
    --------
    >>> mags = band_magnitudes({"g_psfFlux": [1.0, -1.0]}, flux_type="psf", bands="g")
    >>> mags["g"].tolist()
    [31.4, nan]
    >>> dered = band_magnitudes({"g_psfFlux": [1.0]}, flux_type="psf", bands="g",
    ...                         ebv=[0.1], extinction_coeffs={"g": 3.0})
    >>> round(float(dered["g"][0]), 6)  # 0.3 mag brighter
    31.1
    """
    magnitudes = {}
    for band in bands:
        flux = _as_float(columns[band_columns(flux_type, band).flux])
        if ebv is not None:
            if extinction_coeffs is None or band not in extinction_coeffs:
                raise InputError(
                    f"no extinction coefficient for band {band!r}; "
                    "pass it with --extinction-coeffs"
                )
            flux = flux * extinction_factor(ebv, extinction_coeffs[band])
        magnitudes[band] = flux_to_mag(flux, zero_point)
    return magnitudes


def mark_nondetections(
    magnitude: ArrayLike,
    magnitude_err: ArrayLike,
    flux_err_njy: ArrayLike,
    *,
    zero_point: float = AB_ZERO_POINT_NJY,
    nondetection_mag: float,
    fallback_limit_mag: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Magnitudes with non-detections written as a sentinel, in the BPZ/RAIL convention.

    Where the magnitude is NaN (a flux that is missing, zero or negative) it becomes
    ``nondetection_mag`` (RAIL's ``nondetect_val``, 99) and its error the 1-sigma
    limiting magnitude ``-2.5 log10(flux_err) + zero_point`` (the magnitude of a flux
    equal to its error: BPZ's "1-sigma upper limit assuming zero flux"), or
    ``fallback_limit_mag`` where the flux error is not positive either. Detections
    are left as they are.

    Examples
    --------
    >>> mag, err = mark_nondetections([20.0, float("nan"), float("nan")], [0.1, float("nan"),
    ...     float("nan")], [5.0, 10.0, float("nan")], nondetection_mag=99.0,
    ...     fallback_limit_mag=28.0)
    >>> mag.tolist(), err.tolist()
    ([20.0, 99.0, 99.0], [0.1, 28.9, 28.0])
    """
    import numpy as np

    magnitude = np.array(magnitude, dtype=np.float64)
    error = np.array(magnitude_err, dtype=np.float64)
    missing = np.isnan(magnitude)
    limit = flux_to_mag(flux_err_njy, zero_point)
    limit = np.where(np.isfinite(limit), limit, fallback_limit_mag)
    magnitude[missing] = nondetection_mag
    error[missing] = limit[missing]
    return magnitude, error


def _as_float(values: ArrayLike) -> np.ndarray:
    """float64 numpy array of a Series or array, missing values as NaN."""
    import numpy as np

    if hasattr(values, "to_numpy"):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.float64)
