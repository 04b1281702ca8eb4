"""Writers of tiny dust maps in the real on-disk formats that dustmaps reads.

Every map holds one constant per sky quadrant: (north, south Galactic hemisphere) x
(Galactic longitude below / above 180 deg), so a lookup in the wrong hemisphere, a
mirrored longitude or a NESTED/RING mix-up returns a wrong, recognisable number.
Test points must stay away from the quadrant borders (|b| > 15 deg, longitude more
than 20 deg from 0 and 180) because pixels there are coarse and SFD interpolates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

# EBV[name][hemisphere][longitude half]: hemisphere 0 north, 1 south; half 0 l < 180.
EBV: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "sfd": ((0.0123, 0.0234), (0.0456, 0.0567)),
    "csfd": ((0.0111, 0.0222), (0.0333, 0.0444)),
    "planck": ((0.0612, 0.0723), (0.0834, 0.0945)),
    "planck-gnilc": ((0.1011, 0.1122), (0.1233, 0.1344)),
}
GNILC_TAU_TO_EBV = 1.49e4  # dustmaps' scale from GNILC TAU353 to E(B-V)
SFD_SIZE_PIXELS = 64
HEALPIX_NSIDE = 8

PLANCK_FILE = "HFI_CompMap_ThermalDustModel_2048_R1.20.fits"
GNILC_FILE = "COM_CompMap_Dust-GNILC-Model-Opacity_2048_R2.01.fits"


def expected_ebv(name: str, l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
    """The E(B-V) a fixture map holds at Galactic (l, b), as float32 values in float64."""
    table = np.asarray(EBV[name], dtype=np.float64)
    hemisphere = (np.asarray(b_deg) < 0).astype(int)
    half = (np.mod(l_deg, 360.0) >= 180.0).astype(int)
    return table[hemisphere, half].astype(np.float32).astype(np.float64)


def _quadrant_values(name: str, l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
    table = np.asarray(EBV[name], dtype=np.float64)
    hemisphere = (b_deg < 0).astype(int)
    half = (np.mod(l_deg, 360.0) >= 180.0).astype(int)
    return table[hemisphere, half]


def sfd_header(pole: str, size_pixels: int = SFD_SIZE_PIXELS) -> fits.Header:
    """The header of an SFD Lambert (ZEA) polar image, scaled to `size_pixels`.

    Same keywords as the real 4096 x 4096 files; the pixel scale keeps the Galactic
    equator at LAM_SCAL pixels from the centre, as in SFD's own Lambert formula.
    """
    sign = 1 if pole == "ngp" else -1
    lam_scale_pixels = size_pixels // 2
    pixel_deg = float(np.degrees(np.sqrt(2.0)) / lam_scale_pixels)
    header = fits.Header()
    header["CTYPE1"] = "GLON-ZEA"
    header["CTYPE2"] = "GLAT-ZEA"
    header["CRPIX1"] = size_pixels / 2 + 0.5
    header["CRPIX2"] = size_pixels / 2 + 0.5
    header["CRVAL1"] = 90.0
    header["CRVAL2"] = 90.0 * sign
    header["CD1_1"] = -pixel_deg
    header["CD1_2"] = 0.0
    header["CD2_1"] = 0.0
    header["CD2_2"] = pixel_deg
    header["LONPOLE"] = 180.0
    header["LAM_NSGP"] = sign
    header["LAM_SCAL"] = lam_scale_pixels
    header["BUNIT"] = "mag"
    return header


def write_sfd(folder: Path, size_pixels: int = SFD_SIZE_PIXELS) -> list[Path]:
    """Write ``SFD_dust_4096_ngp.fits`` and ``_sgp.fits`` (float32 images) into `folder`."""
    from astropy.wcs import WCS

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for pole in ("ngp", "sgp"):
        header = sfd_header(pole, size_pixels)
        rows, columns = np.mgrid[0:size_pixels, 0:size_pixels]
        l_deg, _b_deg = WCS(header).wcs_pix2world(columns, rows, 0)
        # Every pixel of a polar image holds its own hemisphere's values, as SFD does.
        b_of_pole = np.full(l_deg.shape, 45.0 if pole == "ngp" else -45.0)
        image = _quadrant_values("sfd", np.nan_to_num(l_deg), b_of_pole).astype(np.float32)
        path = folder / f"SFD_dust_4096_{pole}.fits"
        fits.PrimaryHDU(data=image, header=header).writeto(path, overwrite=True)
        paths.append(path)
    return paths


def _healpix_quadrants(name: str, nest: bool, nside: int = HEALPIX_NSIDE) -> np.ndarray:
    import healpy as hp

    theta_rad, phi_rad = hp.pix2ang(nside, np.arange(hp.nside2npix(nside)), nest=nest)
    return _quadrant_values(name, np.degrees(phi_rad), 90.0 - np.degrees(theta_rad))


def _healpix_header(nest: bool, nside: int) -> list[tuple[str, object]]:
    return [
        ("PIXTYPE", "HEALPIX"),
        ("ORDERING", "NESTED" if nest else "RING"),
        ("NSIDE", nside),
        ("FIRSTPIX", 0),
        ("LASTPIX", 12 * nside * nside - 1),
        ("COORDSYS", "GALACTIC"),
    ]


def write_csfd(folder: Path, nside: int = HEALPIX_NSIDE) -> list[Path]:
    """Write ``csfd_ebv.fits`` and ``mask.fits`` (RING, extension 'xtension', column T)."""
    folder.mkdir(parents=True, exist_ok=True)
    ebv = _healpix_quadrants("csfd", nest=False, nside=nside).astype(np.float32)
    mask = np.full(ebv.shape, 5, dtype=np.int16)  # bits 0 and 2: LSS-corrected, cosmology
    paths = []
    for file_name, values, fits_format in (("csfd_ebv.fits", ebv, "E"), ("mask.fits", mask, "I")):
        table = fits.BinTableHDU.from_columns(
            [fits.Column(name="T", format=fits_format, array=values)], name="xtension"
        )
        for key, value in _healpix_header(nest=False, nside=nside):
            table.header[key] = value
        path = folder / file_name
        fits.HDUList([fits.PrimaryHDU(), table]).writeto(path, overwrite=True)
        paths.append(path)
    return paths


def write_planck(folder: Path, nside: int = HEALPIX_NSIDE) -> Path:
    """Write the Planck 2013 thermal-dust file (NESTED, extension COMP-MAP, all columns)."""
    folder.mkdir(parents=True, exist_ok=True)
    ebv = _healpix_quadrants("planck", nest=True, nside=nside).astype(np.float32)
    ones = np.ones_like(ebv)
    columns = [
        fits.Column(name=column, format="E", array=values)
        for column, values in (
            ("TAU353", ebv / 1.49e4),
            ("ERR_TAU", ones * 1e-7),
            ("EBV", ebv),
            ("RADIANCE", ebv / 5.4e5),
            ("TEMP", ones * 20.0),
            ("ERR_TEMP", ones),
            ("BETA", ones * 1.6),
            ("ERR_BETA", ones * 0.1),
        )
    ]
    table = fits.BinTableHDU.from_columns(columns, name="COMP-MAP")
    for key, value in _healpix_header(nest=True, nside=nside):
        table.header[key] = value
    path = folder / PLANCK_FILE
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path, overwrite=True)
    return path


def write_planck_gnilc(folder: Path, nside: int = HEALPIX_NSIDE) -> Path:
    """Write the Planck GNILC opacity file (NESTED, HDU 1, columns TAU353, TAU353_ERR)."""
    folder.mkdir(parents=True, exist_ok=True)
    tau353 = _healpix_quadrants("planck-gnilc", nest=True, nside=nside) / GNILC_TAU_TO_EBV
    columns = [
        fits.Column(name="TAU353", format="E", array=tau353.astype(np.float32)),
        fits.Column(name="TAU353_ERR", format="E", array=(tau353 * 0.05).astype(np.float32)),
    ]
    table = fits.BinTableHDU.from_columns(columns, name="COMP-MAP")
    for key, value in _healpix_header(nest=True, nside=nside):
        table.header[key] = value
    path = folder / GNILC_FILE
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path, overwrite=True)
    return path


def write_map(name: str, folder: Path) -> list[Path]:
    """Write map `name` flat into `folder` (no dustmaps sub-folder)."""
    if name == "sfd":
        return write_sfd(folder)
    if name == "csfd":
        return write_csfd(folder)
    if name == "planck":
        return [write_planck(folder)]
    return [write_planck_gnilc(folder)]


def write_all_maps(root: Path) -> dict[str, list[Path]]:
    """Write all four maps under `root` in dustmaps' layout (sfd/, csfd/, planck/)."""
    subdirs = {"sfd": "sfd", "csfd": "csfd", "planck": "planck", "planck-gnilc": "planck"}
    return {name: write_map(name, root / subdir) for name, subdir in subdirs.items()}
