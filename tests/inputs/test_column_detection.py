"""Spec-z files shaped like the real releases: column names and dtypes as published.

Each file below has the columns of one survey's release (the names, case and types its
data model or a real sample has; surveys.md in the research notes cites them), with a
few synthetic rows, written in the format the survey distributes (FITS, Parquet, CSV).
Each is read and cleaned the way a run reads it, and the columns chosen, the reasons
and the notices are checked.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from astropy.table import Table
from conftest import SAMPLES

from tsmaker.errors import InputError, ParameterError
from tsmaker.formats.tables import read_table
from tsmaker.inputs.cleaning import load_redshift_catalog
from tsmaker.inputs.redshift import choose_columns

ROWS = 6
RNG = np.random.default_rng(20)


def _coords(n: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    return RNG.uniform(50.0, 60.0, n), RNG.uniform(-30.0, -20.0, n)


def _write(frame: pd.DataFrame | Table, path: Path) -> Path:
    if path.suffix == ".fits":
        table = frame if isinstance(frame, Table) else Table.from_pandas(frame)
        table.write(path)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def desi_zall(path: Path) -> Path:
    """DESI DR1 zall-pix-iron.fits (zcatalog v1, HDU ZCATALOG): TARGETID repeats."""
    ra, dec = _coords()
    table = Table()
    table["TARGETID"] = np.array([39627, 39627, 39628, 39629, -1234, 39630], dtype=np.int64)
    table["SURVEY"] = ["main", "sv3", "main", "main", "main", "sv1"]
    table["PROGRAM"] = ["dark", "dark", "bright", "dark", "dark", "dark"]
    table["Z"] = np.array([0.52, 0.5201, 1.7, 0.08, 0.3, 2.4])
    table["ZERR"] = np.array([1e-5, 2e-5, 1e-4, 1e-5, 0.1, 3e-4])
    table["ZWARN"] = np.array([0, 0, 4, 0, 2053, 0], dtype=np.int64)
    table["SPECTYPE"] = ["GALAXY", "GALAXY", "QSO", "GALAXY", "GALAXY", "QSO"]
    table["COEFF"] = RNG.normal(size=(ROWS, 10))  # a vector column, kept as an array
    table["TARGET_RA"], table["TARGET_DEC"] = ra, dec
    table["PLATE_RA"], table["PLATE_DEC"] = ra + 1e-4, dec
    table["MEAN_FIBER_RA"], table["MEAN_FIBER_DEC"] = ra + 2e-5, dec
    table["OBJTYPE"] = ["TGT", "TGT", "TGT", "TGT", "SKY", "TGT"]
    table["ZCAT_PRIMARY"] = np.array([True, False, True, True, True, True])
    table["DESINAME"] = [f"DESI J{r:.4f}" for r in ra]
    table["FLUX_Z"] = RNG.uniform(1, 50, ROWS).astype(np.float32)
    table.meta["EXTNAME"] = "ZCATALOG"
    table.write(path)
    return path


def desi_v2(path: Path) -> Path:
    """DESI zcatalog v2 core file (documented for DR2 on): Z_BEST, Z_CONF."""
    ra, dec = _coords()
    table = Table()
    table["TARGETID"] = np.arange(ROWS, dtype=np.int64) + 39627000
    table["Z_BEST"] = np.linspace(0.1, 1.5, ROWS)
    table["ZERR_BEST"] = np.full(ROWS, 2e-5)
    table["Z_CONF"] = np.array([3, 3, 1, 0, 3, 1], dtype=np.uint8)
    table["ZWARN_BEST"] = np.array([0, 0, 0, 4, 0, 0], dtype=np.int64)
    table["TARGET_RA"], table["TARGET_DEC"] = ra, dec
    table["GOOD_SPEC"] = np.ones(ROWS, dtype=bool)
    table.write(path)
    return path


def twodfgrs_ascii(path: Path) -> Path:
    """2dFGRS best.observations.idz: ra/dec are B1950 text, ra2000/dec2000 J2000 text."""
    return _write(pd.DataFrame({
        "serial": np.arange(1, ROWS + 1),
        "name": [f"TGN{100 + i}Z04{i}" for i in range(ROWS)],
        "ra": ["00 14 07.80", "00 14 08.10", "00 15 00.00", "21 40 00.0", "22 00 10.5",
               "03 30 00.0"],
        "dec": ["-28 01 02.5", "-28 02 00.0", "-27 59 00.0", "-30 00 00", "-30 10 00",
                "-31 00 00"],
        "ra2000": ["00 16 40.52", "00 16 41.00", "00 17 33.10", "21 42 53.2", "22 02 55.0",
                   "03 32 03.0"],
        "dec2000": ["-27 44 20.4", "-27 45 18.0", "-27 42 10.0", "-29 46 20", "-29 56 04",
                    "-30 49 40"],
        "z": [0.1231, 0.0512, -9.0, 0.2001, 0.0811, 0.1502],
        "z_helio": [0.1230, 0.0511, -9.0, 0.2000, 0.0810, 0.1501],
        "quality": [4, 5, 1, 3, 4, 2],
        "Z_ABS": [0.1231, 0.0512, -9.0, 0.2001, 0.0811, 0.1502],
        "Z_EMI": [-9.999, 0.0512, -9.999, 0.2001, -9.999, 0.1502],
    }), path)


def twodfgrs_linea(path: Path) -> Path:
    """2dFGRS as LIneA processed it: split sexagesimal fields plus *_deg columns."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "serial": np.arange(1, ROWS + 1), "name": [f"TGS{500 + i}" for i in range(ROWS)],
        "ra_b1950_h": np.zeros(ROWS, dtype=np.int64), "ra_j2000_h": np.ones(ROWS, np.int64),
        "ra_j2000_m": np.ones(ROWS, dtype=np.int64), "ra_j2000_s": np.full(ROWS, 3.5),
        "dec_j2000_d": np.full(ROWS, -27, dtype=np.int64),
        "z": np.linspace(0.02, 0.2, ROWS), "z_helio": np.linspace(0.02, 0.2, ROWS) - 1e-4,
        "quality": np.array([3, 4, 5, 4, 3, 5], dtype=np.int64),
        "Z_ABS": np.linspace(0.02, 0.2, ROWS), "Z_EMI": np.full(ROWS, -9.999),
        "ra_b1950_deg": ra - 0.6, "ra_j2000_deg": ra, "dec_b1950_deg": dec - 0.2,
        "dec_j2000_deg": dec, "survey_name": ["2DFGRS"] * ROWS,
    }), path)


def sixdfgs_linea(path: Path) -> Path:
    """6dFGS DR3 ASCII release (LIneA sample): OBSRA/OBSDEC text, RA_deg/DEC_deg added."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "SPECID": np.arange(ROWS, dtype=np.int64) + 100001,
        "TARGETID": np.array([5001, 5001, 5002, 5003, 0, 5005], dtype=np.int64),
        "TARGETNAME": [f"g{i:07d}" for i in range(ROWS)],
        "RA_deg": ra, "DEC_deg": dec,
        "Z": [0.051, 0.0512, 0.02, -9.999, 0.11, 0.0401],
        "QUALITY": np.array([4, 4, 3, 1, 6, 4], dtype=np.int64),
        "survey_name": ["6DFGS"] * ROWS,
        "OBSRA": [" 20:58:00.58"] * ROWS, "OBSDEC": ["-53:28:47.3"] * ROWS,
        "Z_HELIO": [0.0511, 0.0511, 0.0199, -9.999, 0.1099, 0.04],
        "Z_COMM": ["", "", "", "no z", "star", ""],
    }), path)


def sixdfgs_database(path: Path) -> Path:
    """6dFGS SPECTRA table (WFAU database): OBSRA/OBSDEC in degrees, ZFINALERR."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "SPECID": np.arange(ROWS, dtype=np.int64) + 1, "TARGETID": np.arange(ROWS) // 2,
        "OBSRA": ra, "OBSDEC": dec, "Z_ORIGIN": list("EAEAEA"),
        "Z": np.linspace(0.01, 0.1, ROWS), "Z_HELIO": np.linspace(0.01, 0.1, ROWS) - 1e-4,
        "QUALITY": np.array([4, 3, 4, 6, 4, 2], dtype=np.int16),
        "Q_FINAL": np.array([4, 3, 4, 6, 4, 2], dtype=np.int16),
        "ZFINALERR": np.full(ROWS, 1.5e-4), "CENRA_V": ra + 2.0,
    }), path)


def primus(path: Path) -> Path:
    """PRIMUS zcat: OBJNAME, Z (float32), ZQUALITY (int16, -1 = star)."""
    ra, dec = _coords()
    table = Table()
    table["OBJNAME"] = [f"0083-0046{i}" for i in range(ROWS)]
    table["RA"], table["DEC"] = ra, dec
    table["FIELD"] = ["cdfs"] * ROWS
    table["Z"] = np.array([0.4, 0.71, 0.0001, 0.9, 0.33, 1.02], dtype=np.float32)
    table["ZQUALITY"] = np.array([4, 3, -1, 2, 4, 3], dtype=np.int16)
    table["PRIMARY"] = np.array([1, 1, 1, 0, 1, 1], dtype=np.int16)
    table["CLASS"] = ["GALAXY", "GALAXY", "STAR", "AGN", "GALAXY", "GALAXY"]
    table["SDSS_MAG_z"] = np.full(ROWS, 20.5, dtype=np.float32)
    table.write(path)
    return path


def threedhst(path: Path) -> Path:
    """3D-HST v4.1.5 zbest joined with the photometric catalog (LIneA sample)."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "phot_id": np.array([11, 12, 11, 13, 14, 15], dtype=np.int64),
        "grism_id": [f"goodss-01-G141_{i}" for i in range(ROWS)], "ra": ra, "dec": dec,
        "z_best": [1.2, 0.8, 2.1, 0.5, 1.9, 0.33], "z_best_s": [1, 2, 3, 3, 1, 2],
        "z_spec": [1.2, -1.0, -1.0, -1.0, 1.9, -1.0], "use_zgrism": [1, 1, 0, -1, 1, 1],
        "use_phot": np.ones(ROWS, np.int64), "flag1": np.zeros(ROWS), "flag2": np.zeros(ROWS),
        "field": ["GOODS-S", "GOODS-S", "AEGIS", "AEGIS", "COSMOS", "UDS"],
        "z_peak_phot": [1.1, 0.8, 2.1, 0.5, 1.8, 0.35], "z_max_grism": [1.2, 0.8, -1, -1, 1.9,
                                                                        0.33],
        "flag": np.zeros(ROWS, dtype=np.int64),
    }), path)


def jades_dr4(path: Path) -> Path:
    """JADES DR4 Combined_DR4_external.fits, extension Obs_info."""
    ra, dec = _coords()
    table = Table()
    table["Unique_ID"] = [f"{1000 + i}_{tier}" for i, tier in enumerate(
        ["Deep", "Medium", "Deep", "Medium", "Deep", "Medium"])]
    table["PID"] = np.full(ROWS, 1180, dtype=np.int32)
    table["TIER"] = ["Deep", "Medium", "Deep", "Medium", "Deep", "Medium"]
    table["NIRSpec_ID"] = np.array([1000, 1000, 1002, 1003, 1004, 1005], dtype=np.int64)
    table["RA_TARG"], table["Dec_TARG"] = ra, dec
    table["RA_NIRCam"] = np.where(np.arange(ROWS) % 2, np.nan, ra)
    table["z_phot"] = np.array([3.1, 5.9, 2.2, 7.1, 1.1, 4.0])
    table["z_Spec"] = np.array([3.01, 6.02, -1.0, 7.3, 1.05, 4.12])
    table["z_PRISM"] = np.array([3.0, 6.0, -1.0, 7.3, 1.05, 4.1])
    table["z_R1000"] = np.array([3.01, -1, -1, 7.31, -1, 4.12])
    table["z_Spec_flag"] = np.array([b"A", b"B", b"E", b"C", b"A", b"D"])
    table.write(path)
    return path


def jades_dr3_linea(path: Path) -> Path:
    """JADES DR3 as in LIneA's sample: unique_id repeats (a join of per-disperser tables)."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "unique_id": ["1000_Deep", "1000_Deep", "1002_Deep", "1003_Medium", "1004_Deep",
                      "1004_Deep"],
        "NIRSpec_ID": np.array([1000, 1000, 1002, 1003, 1004, 1004], dtype=np.int64),
        "RA_TARG": ra, "Dec_TARG": dec, "RA_NIRCam": ra, "Dec_NIRCam": dec,
        "z_Spec": [3.01, 3.01, 2.2, 7.3, 1.05, 1.05],
        "z_Spec_flag": ["A", "A", "B", "C", "E", "E"], "DR_flag": np.arange(ROWS),
        "z_PRISM": [3.0, 3.0, 2.2, 7.3, 1.05, 1.05], "survey_name": ["JADES"] * ROWS,
    }), path)


def vvds(path: Path) -> Path:
    """VVDS final release: ALPHA/DELTA, ZFLAGS (two-digit code), NUM, ID-IAU."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "NUM": np.arange(ROWS, dtype=np.int64) + 20000, "ID-IAU": [
            f"VVDS-J0226{i:02d}.00-043522.1" for i in range(ROWS)],
        "ALPHA": ra, "DELTA": dec, "MAGI": np.full(ROWS, 22.1),
        "Z": [0.5, 0.8, 9.9999, 1.1, 0.3, 2.2],
        "ZFLAGS": np.array([4, 3, 0, 23, 9, 14], dtype=np.int64),
        "survey_name": ["VVDS"] * ROWS, "MAG_Z_CFHTLS": np.full(ROWS, 21.8),
    }), path)


def zcosmos(path: Path) -> Path:
    """zCOSMOS-bright DR3 (CSV): RAJ2000/DEJ2000, REDSHIFT, CC with decimals."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "OBJECT_ID": np.arange(ROWS, dtype=np.int64) + 700001, "RAJ2000": ra, "DEJ2000": dec,
        "IMAG_AB": np.full(ROWS, 21.0), "REDSHIFT": np.linspace(0.1, 1.1, ROWS),
        "CC": [4.5, 3.5, 2.4, 9.5, 1.1, 14.5],
    }), path)


def sdss_specobj(path: Path) -> Path:
    """SDSS DR17 specObj / spAll flat file: PLUG_RA, Z, Z_ERR, ZWARNING, SPECOBJID."""
    ra, dec = _coords()
    table = Table()
    table["SPECOBJID"] = [f"{299489677444933632 + i}" for i in range(ROWS)]
    table["BESTOBJID"] = np.array([1237, 1237, 1238, 1239, 1240, 1241], dtype=np.int64)
    table["PLUG_RA"], table["PLUG_DEC"] = ra, dec
    table["CLASS"] = ["GALAXY", "GALAXY", "STAR", "QSO", "GALAXY", "GALAXY"]
    table["Z"] = np.array([0.1, 0.1, 0.0002, 2.1, 0.4, 0.6], dtype=np.float32)
    table["Z_ERR"] = np.full(ROWS, 1e-5, dtype=np.float32)
    table["ZWARNING"] = np.array([0, 0, 0, 4, 0, 16], dtype=np.int32)
    table["Z_NOQSO"] = np.array([0.1, 0.1, 0.0002, 0.9, 0.4, 0.6], dtype=np.float32)
    table["ZWARNING_NOQSO"] = np.zeros(ROWS, dtype=np.int32)
    table["ELODIE_Z"] = np.zeros(ROWS, dtype=np.float32)
    table["SPECPRIMARY"] = np.array([1, 0, 1, 1, 1, 1], dtype=np.uint8)
    table.write(path)
    return path


def sdss_skyserver(path: Path) -> Path:
    """SkyServer SpecObj query result (CSV): ra, dec, z, zErr, zWarning, specObjID."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "specObjID": np.arange(ROWS, dtype=np.int64) + 299489677444933632, "bestObjID":
        np.arange(ROWS) + 1237, "ra": ra, "dec": dec, "z": np.linspace(0.05, 0.5, ROWS),
        "zErr": np.full(ROWS, 1e-5), "zWarning": np.zeros(ROWS, dtype=np.int64),
        "class": ["GALAXY"] * ROWS, "sciencePrimary": np.ones(ROWS, np.int64),
    }), path)


def gama(path: Path) -> Path:
    """GAMA SpecAll (astroquery.gama): SPECID, RA, DEC, Z, NQ, PROB, CATAID."""
    ra, dec = _coords()
    table = Table()
    table["SPECID"] = [f"G12_Y3_0{i}" for i in range(ROWS)]
    table["SURVEY"] = ["GAMA"] * ROWS
    table["RA"], table["DEC"] = ra, dec
    table["Z"] = np.linspace(0.05, 0.4, ROWS)
    table["NQ"] = np.array([4, 3, 2, 4, 1, 3], dtype=np.int16)
    table["PROB"] = np.linspace(0.5, 1.0, ROWS)
    table["CATAID"] = np.array([6802, 6802, 6803, 6804, 6805, 6806], dtype=np.int32)
    table["IS_BEST"] = np.array([True, False, True, True, True, True])
    table.write(path)
    return path


def sdss17_derivative(path: Path) -> Path:
    """The widely copied SDSS17 'stellar classification' table: z is a magnitude."""
    ra, dec = _coords()
    mags = {band: RNG.uniform(17, 22, ROWS) for band in "ugriz"}
    mags["z"][0] = -9999.0
    return _write(pd.DataFrame({
        "obj_ID": np.arange(ROWS) + 1237660961327743232, "alpha": ra, "delta": dec,
        **mags, "spec_obj_ID": np.arange(ROWS) + 6543777369295181824,
        "class": ["GALAXY"] * ROWS, "redshift": np.linspace(0.1, 0.7, ROWS),
    }), path)


def desi_lss_full(path: Path) -> Path:
    """DESI LSS 'full' catalog: Z_not4clus is its redshift."""
    ra, dec = _coords()
    return _write(pd.DataFrame({
        "TARGETID": np.arange(ROWS, dtype=np.int64) + 1, "Z_not4clus": np.linspace(0.4, 1.1,
                                                                                    ROWS),
        "ZERR": np.full(ROWS, 1e-4), "ZWARN": np.zeros(ROWS, dtype=np.int64),
        "Z_QN": np.linspace(0.4, 1.1, ROWS), "RA": ra, "DEC": dec,
        "Z_RR": np.linspace(0.4, 1.1, ROWS),
    }), path)


# survey file, its name, the columns expected, and fragments every notice list must hold
SURVEYS = {
    "desi_zall": (desi_zall, "zall-pix-iron.fits",
                  {"ra": "TARGET_RA", "dec": "TARGET_DEC", "z": "Z", "z_err": "ZERR",
                   "z_flag": "ZWARN"},
                  ["id: TARGETID is not a unique id", "--where 'ZCAT_PRIMARY'",
                   "ZWARN: a bitmask", "MEAN_FIBER_RA/MEAN_FIBER_DEC"]),
    "desi_v2": (desi_v2, "zpix-main-dark.fits",
                {"ra": "TARGET_RA", "dec": "TARGET_DEC", "z": "Z_BEST", "z_err": "ZERR_BEST",
                 "z_flag": "Z_CONF", "id": "TARGETID"},
                ["Z_BEST taken, the only redshift column", "DESI zcatalog v2 confidence"]),
    "2dfgrs_ascii": (twodfgrs_ascii, "best.observations.csv",
                     {"ra": "ra2000", "dec": "dec2000", "z": "z", "z_flag": "quality",
                      "id": "name"},
                     ["also there: ra/dec", "also there: z_helio", "sexagesimal text"]),
    "2dfgrs_linea": (twodfgrs_linea, "2dfgrs_final_release_random_sample.parquet",
                     {"ra": "ra_j2000_deg", "dec": "dec_j2000_deg", "z": "z",
                      "z_flag": "quality", "id": "name"}, ["also there: z_helio"]),
    "6dfgs_linea": (sixdfgs_linea, "6dfgs_dr3_random_sample.parquet",
                    {"ra": "RA_deg", "dec": "DEC_deg", "z": "Z", "z_flag": "QUALITY",
                     "id": "SPECID"}, ["also there: Z_HELIO", "also there: OBSRA/OBSDEC"]),
    "6dfgs_database": (sixdfgs_database, "6dfgs_spectra.parquet",
                       {"ra": "OBSRA", "dec": "OBSDEC", "z": "Z", "z_err": "ZFINALERR",
                        "z_flag": "QUALITY", "id": "SPECID"}, ["also there: Z_HELIO"]),
    "primus": (primus, "PRIMUS_2013_zcat_v1.fits",
               {"ra": "RA", "dec": "DEC", "z": "Z", "z_flag": "ZQUALITY", "id": "OBJNAME"},
               ["PRIMUS quality"]),
    "3dhst": (threedhst, "3dhst_v4.1.5_random_sample.parquet",
              {"ra": "ra", "dec": "dec", "z": "z_spec"}, ["also there: z_best"]),
    "jades_dr4": (jades_dr4, "Combined_DR4_external.fits",
                  {"ra": "RA_TARG", "dec": "Dec_TARG", "z": "z_Spec", "z_flag": "z_Spec_flag",
                   "id": "Unique_ID"}, ["letter grades, A best"]),
    "jades_dr3": (jades_dr3_linea, "jades_dr3_random_sample.parquet",
                  {"ra": "RA_TARG", "dec": "Dec_TARG", "z": "z_Spec", "z_flag": "z_Spec_flag"},
                  ["id: unique_id is not a unique id (4 rows share an id, e.g. '1000_Deep')",
                   "keyed by specz_row"]),
    "vvds": (vvds, "vvds_final_release.parquet",
             {"ra": "ALPHA", "dec": "DELTA", "z": "Z", "z_flag": "ZFLAGS", "id": "NUM"},
             ["two-digit VVDS code", "id: NUM taken; also there: ID-IAU"]),
    "zcosmos": (zcosmos, "zCOSMOS_bright_DR3.csv",
                {"ra": "RAJ2000", "dec": "DEJ2000", "z": "REDSHIFT", "z_flag": "CC",
                 "id": "OBJECT_ID"}, ["zCOSMOS confidence class"]),
    "sdss_specobj": (sdss_specobj, "specObj-dr17.fits",
                     {"ra": "PLUG_RA", "dec": "PLUG_DEC", "z": "Z", "z_err": "Z_ERR",
                      "z_flag": "ZWARNING", "id": "SPECOBJID"}, ["ZWARNING: a bitmask"]),
    "sdss_skyserver": (sdss_skyserver, "specobj_query.csv",
                       {"ra": "ra", "dec": "dec", "z": "z", "z_err": "zErr",
                        "z_flag": "zWarning", "id": "specObjID"}, []),
    "gama": (gama, "SpecAll.fits",
             {"ra": "RA", "dec": "DEC", "z": "Z", "z_flag": "NQ", "id": "SPECID"},
             ["GAMA normalised quality"]),
    "sdss17_derivative": (sdss17_derivative, "star_classification.csv",
                          {"ra": "alpha", "dec": "delta", "z": "redshift",
                           "id": "spec_obj_ID"}, ["'z' holds magnitudes or text"]),
    "desi_lss_full": (desi_lss_full, "LRG_full.dat.parquet",
                      {"ra": "RA", "dec": "DEC", "z": "Z_not4clus", "z_err": "ZERR",
                       "z_flag": "ZWARN", "id": "TARGETID"}, []),
}


@pytest.mark.parametrize("survey", list(SURVEYS))
def test_release_shaped_files_register_without_column_flags(tmp_path, survey):
    make, file_name, expected_roles, expected_notices = SURVEYS[survey]
    path = make(tmp_path / file_name)

    catalog = load_redshift_catalog(path, {})

    assert catalog.roles == expected_roles
    assert catalog.key_column == expected_roles.get("id", "specz_row")
    notices = " | ".join(catalog.notices)
    for fragment in expected_notices:
        assert fragment in notices, (fragment, catalog.notices)
    assert len(catalog.frame) > 0


def test_2dfgrs_sexagesimal_j2000_positions_become_degrees(tmp_path):
    catalog = load_redshift_catalog(twodfgrs_ascii(tmp_path / "best.csv"), {})
    # row 0: 00 16 40.52 -27 44 20.4, worked by hand: (16 + 40.52/60) / 60 h x 15 deg/h
    first = catalog.frame.iloc[0]
    assert first["ra2000"] == pytest.approx((16 / 60 + 40.52 / 3600) * 15, abs=1e-12)
    assert first["dec2000"] == pytest.approx(-(27 + 44 / 60 + 20.4 / 3600), abs=1e-12)
    assert catalog.report["dropped_missing_redshift"] == 1  # z = -9.0
    assert catalog.frame["quality"].tolist() == [4, 5, 3, 4, 2]


def test_desi_vector_column_is_kept_as_an_array(tmp_path):
    path = desi_zall(tmp_path / "zall.fits")
    frame = read_table(path)
    assert isinstance(frame["COEFF"].dtype, pd.ArrowDtype)
    assert frame["COEFF"].dtype.pyarrow_dtype == pa.list_(pa.float64(), 10)
    np.testing.assert_array_equal(np.stack(frame["COEFF"].tolist()),
                                  np.asarray(Table.read(path)["COEFF"]))


def test_jades_letter_grades_are_kept_as_they_are(tmp_path):
    catalog = load_redshift_catalog(jades_dr4(tmp_path / "jades.fits"), {})
    # z_Spec = -1 (no spectroscopic redshift) is a dropped sentinel; the letters stay letters.
    assert catalog.frame["z_Spec_flag"].tolist() == ["A", "B", "C", "A", "D"]


def test_reasons_say_why_each_column_was_taken(tmp_path):
    path = threedhst(tmp_path / "3dhst.parquet")
    choice = choose_columns(list(read_table(path).columns), {}, read_table(path))
    assert choice.reasons == {
        "ra": "ra/dec: the plain names", "dec": "ra/dec: the plain names",
        "z": "z_spec: a spectroscopic name", "z_err": "none found", "z_flag": "none found",
        "id": "none found",
    }


def test_a_repeated_id_is_used_only_when_named(tmp_path):
    path = jades_dr3_linea(tmp_path / "jades_dr3.parquet")
    with pytest.raises(InputError, match=r"id column 'unique_id' has 4 rows with repeated ids "
                                         r"\(e.g. '1000_Deep'\).*--id none"):
        load_redshift_catalog(path, {"id": "unique_id"})
    assert load_redshift_catalog(path, {"id": "none"}).key_column == "specz_row"


def test_none_turns_optional_roles_off_but_not_required_ones(tmp_path):
    frame = read_table(sdss_skyserver(tmp_path / "q.csv"))
    choice = choose_columns(list(frame.columns), {"z_flag": "none", "id": "NONE"}, frame)
    assert "z_flag" not in choice.roles and "id" not in choice.roles
    assert choice.reasons["z_flag"] == "none, as asked"
    with pytest.raises(ParameterError) as raised:
        choose_columns(list(frame.columns), {"z": "none"}, frame)
    assert raised.value.message("cli") == (
        "--z cannot be 'none': every spec-z needs its z; name the column with --z COLUMN")


def test_ties_that_a_human_must_settle_name_the_candidates():
    with pytest.raises(ParameterError) as raised:
        choose_columns(["RA_deg", "DEC_deg", "RAJ2000", "DEJ2000", "z"], {})
    assert raised.value.message("cli") == (
        "several column pairs could be RA/Dec (RA_deg/DEC_deg, RAJ2000/DEJ2000); choose them "
        "with --ra COLUMN --dec COLUMN")
    assert str(raised.value).endswith("ra_column=COLUMN, dec_column=COLUMN")
    with pytest.raises(ParameterError) as raised:
        choose_columns(["ra", "dec", "z_helio", "z_cmb"], {})
    assert raised.value.message("cli") == (
        "several columns could be the z column (z_helio, z_cmb, each a frame-specific name); "
        "choose one with --z COLUMN")
    # Naming one settles it.
    assert choose_columns(["ra", "dec", "z_helio", "z_cmb"], {"z": "z_cmb"}).roles["z"] == (
        "z_cmb")
    named = choose_columns(["RA_deg", "DEC_deg", "RAJ2000", "DEJ2000", "z"], {"ra": "RAJ2000"})
    assert (named.roles["ra"], named.roles["dec"]) == ("RAJ2000", "DEJ2000")


def test_real_2dflens_and_ozdes_samples():
    twodflens = load_redshift_catalog(
        SAMPLES / "2dflens_final_release_random_sample.parquet", {})
    assert twodflens.roles == {"ra": "RA", "dec": "Dec", "z": "z", "z_flag": "qual",
                               "id": "unique_id"}
    assert "6 is a star" in " ".join(twodflens.notices)
    ozdes = load_redshift_catalog(SAMPLES / "ozdes_dr2_random_sample.parquet", {})
    assert ozdes.roles == {"ra": "Alpha_J2000", "dec": "Delta_J2000", "z": "z",
                           "z_flag": "qop", "id": "OzDES_ID"}
    assert "--where 'qop != 6'" in " ".join(ozdes.notices)
