"""Magnitudes, errors and dereddening against values worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from tsmaker.errors import InputError
from tsmaker.inputs.profiles import COMCAM_DC2_EXTINCTION_COEFFS, LSSTCAM_EXTINCTION_COEFFS
from tsmaker.parameters import parse_extinction_coeffs
from tsmaker.science.photometry import (
    add_photometry,
    extinction_factor,
    flux_err_to_mag_err,
    flux_to_mag,
)


def test_magnitude_of_round_fluxes():
    # 1000 nJy: -2.5 * 3 + 31.4 = 23.9 ; 1 nJy: 31.4 ; 1e6 nJy: -15 + 31.4 = 16.4
    assert flux_to_mag([1000.0, 1.0, 1e6]).tolist() == pytest.approx([23.9, 31.4, 16.4],
                                                                     abs=1e-12)


def test_zero_point_override():
    assert float(flux_to_mag(100.0, zero_point=27.0)) == pytest.approx(22.0, abs=1e-12)


def test_non_positive_or_missing_flux_gives_nan():
    mags = flux_to_mag([0.0, -3.0, np.nan])
    errors = flux_err_to_mag_err([0.0, -3.0, np.nan], [1.0, 1.0, 1.0])
    assert np.isnan(mags).all() and np.isnan(errors).all()


def test_magnitude_error():
    # 2.5 / ln(10) = 1.0857362047581294 ; err/flux = 0.1
    assert float(flux_err_to_mag_err(1000.0, 100.0)) == pytest.approx(0.10857362047581294,
                                                                     rel=1e-12)


def test_extinction_factor_and_dereddened_magnitude():
    # E(B-V) = 0.1, R_g = 3.64: A_g = 0.364 mag, factor 10**(0.4*0.364) = 10**0.1456
    assert float(extinction_factor(0.1, 3.64)) == pytest.approx(10 ** 0.1456, rel=1e-12)
    frame = pd.DataFrame({
        "g_cModelFlux": np.array([1000.0, -5.0], dtype=np.float32),
        "g_cModelFluxErr": np.array([100.0, 10.0], dtype=np.float32),
    })
    add_photometry(frame, flux_type="cModel", bands=["g"], magnitudes=True,
                   ebv=np.array([0.1, 0.1]), extinction_coeffs={"g": 3.64})
    assert frame.loc[0, "g_cModelFlux_dered"] == pytest.approx(1000 * 10 ** 0.1456, rel=1e-9)
    assert frame.loc[0, "g_cModelFluxErr_dered"] == pytest.approx(100 * 10 ** 0.1456, rel=1e-9)
    assert frame.loc[0, "g_cModelMag_dered"] == pytest.approx(23.9 - 0.364, abs=1e-9)
    # the magnitude error is unchanged by a common factor on flux and error
    assert frame.loc[0, "g_cModelMagErr_dered"] == pytest.approx(0.10857362047581294, rel=1e-7)
    assert math.isnan(frame.loc[1, "g_cModelMag_dered"])
    assert "g_cModelMag" not in frame.columns  # with dust, only corrected magnitudes


def test_flux_only_adds_nothing_without_dust():
    frame = pd.DataFrame({"r_psfFlux": [10.0], "r_psfFluxErr": [1.0]})
    add_photometry(frame, flux_type="psf", bands=["r"], magnitudes=False)
    assert list(frame.columns) == ["r_psfFlux", "r_psfFluxErr"]


def test_profile_coefficients_are_the_documented_ones():
    assert COMCAM_DC2_EXTINCTION_COEFFS == {"u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06,
                                            "z": 1.58, "y": 1.31}
    assert LSSTCAM_EXTINCTION_COEFFS == {"u": 4.78, "g": 3.65, "r": 2.70, "i": 2.06,
                                         "z": 1.58, "y": 1.31}


def test_parse_extinction_coeffs():
    assert parse_extinction_coeffs("u=4.8, g=3.6") == {"u": 4.8, "g": 3.6}
    with pytest.raises(InputError, match="cannot read 'g:3.6'"):
        parse_extinction_coeffs("u=4.8,g:3.6")
    with pytest.raises(InputError, match="is empty"):
        parse_extinction_coeffs(" , ")


def test_missing_coefficient_is_an_error():
    frame = pd.DataFrame({"y_cModelFlux": [1.0], "y_cModelFluxErr": [1.0]})
    with pytest.raises(InputError, match="no extinction coefficient for band 'y'"):
        add_photometry(frame, flux_type="cModel", bands=["y"], magnitudes=True,
                       ebv=np.array([0.1]), extinction_coeffs={"g": 3.64})
