"""The column names real spec-z releases use, and which to prefer when several are there.

A table of names, read by :mod:`tsmaker.inputs.redshift`. Names are matched without
regard to case. Sources, per survey (column names as published): DESI DR1 zcatalog
(``TARGET_RA``, ``Z``, ``ZERR``, ``ZWARN``, ``TARGETID``; zcatalog v2 ``Z_BEST``,
``Z_CONF``), 2dFGRS (``ra2000``/``dec2000``, or ``ra_j2000_deg`` in processed copies;
``z``, ``z_helio``, ``quality``, ``name``), 6dFGS (``OBSRA``, ``Z``, ``Z_HELIO``,
``QUALITY``, ``ZFINALERR``, ``SPECID``), PRIMUS (``RA``, ``Z``, ``ZQUALITY``, ``OBJNAME``),
3D-HST (``ra``, ``z_spec``, ``z_best``), JADES (``RA_TARG``/``Dec_TARG``, ``z_Spec``,
``z_Spec_flag`` A-E, ``Unique_ID``), OzDES (``Alpha_J2000``, ``z``, ``qop``,
``OzDES_ID``), 2dFLenS (``RA``/``Dec``, ``z``, ``qual``), VVDS (``ALPHA``/``DELTA``,
``Z``, ``ZFLAGS``, ``NUM``), zCOSMOS (``RAJ2000``, ``REDSHIFT``, ``CC``,
``OBJECT_ID``), SDSS/BOSS (``PLUG_RA``, ``Z``, ``Z_ERR``, ``ZWARNING``, ``SPECOBJID``;
SkyServer ``ra``, ``z``, ``zErr``, ``zWarning``, ``specObjID``), GAMA (``RA``, ``Z``,
``NQ``, ``SPECID``).

Preferences
-----------
RA/Dec
    Taken as a pair (never ``RA_TARG`` with ``DEC``), from the first tier of
    :data:`RA_DEC_TIERS` that has one: names that say J2000/ICRS or degrees (in old
    releases a bare ``ra`` is B1950: 2dFGRS), then ``ra``/``dec``, then target or fibre
    positions, then other names, then mean fibre positions. Two pairs in one tier
    need the user (``--ra``/``--dec``).
z
    From the first tier of :data:`Z_TIERS` that has one: a spectroscopic name
    (``z_spec``) over a plain one (``z``, a photometric catalog with a matched
    ``z_spec`` keeps its ``z`` for photo-z), the plain name over a frame-specific one
    (``z_helio``, ``z_cmb``), and anything over ``z_best`` (spectroscopic in DESI
    zcatalog v2, a mix with grism and photometric redshifts in 3D-HST and
    ASTRODEEP). Names of :data:`NEVER` (photometric redshifts, magnitudes, flags)
    are never taken. Two names in one tier need the user (``--z``), unless all but
    one hold magnitudes (a median above 8) or text.
z_err, z_flag, id
    The first name of their list that is there; the error that goes with the chosen
    ``z`` first (``ZERR_BEST`` with ``Z_BEST``). An id is used only when its values
    are unique (JADES' ``unique_id`` and DESI's ``TARGETID`` in all-survey files
    repeat); otherwise the spec-z are keyed by their row (``specz_row``).
"""

from __future__ import annotations

RA_DEC_TIERS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("a name that says J2000/ICRS or degrees", (
        ("ra_j2000_deg", "dec_j2000_deg"), ("raj2000_deg", "dej2000_deg"),
        ("_raj2000", "_dej2000"), ("radeg", "dedeg"), ("radeg", "decdeg"),
        ("ra_deg", "dec_deg"), ("raj2000", "dej2000"), ("raj2000", "decj2000"),
        ("ra_j2000", "dec_j2000"), ("ra2000", "dec2000"), ("alpha_j2000", "delta_j2000"),
        ("ra_icrs", "de_icrs"), ("ra_icrs", "dec_icrs"),
    )),
    ("the plain names", (("ra", "dec"),)),
    ("target or fibre positions", (
        ("target_ra", "target_dec"), ("ra_targ", "dec_targ"), ("plug_ra", "plug_dec"),
        ("obsra", "obsdec"),
    )),
    ("another common name", (
        ("alpha", "delta"), ("ra_obj", "dec_obj"), ("ra_spec", "dec_spec"),
        ("ra_gal", "dec_gal"), ("coord_ra", "coord_dec"),
    )),
    ("mean fibre positions (0 where missing)", (("mean_fiber_ra", "mean_fiber_dec"),)),
)
"""RA/Dec name pairs, in tiers of equal standing, best first (module docstring)."""

Z_TIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("a spectroscopic name", ("z_spec", "zspec", "specz", "spec_z")),
    ("the plain name", ("z", "redshift", "z_not4clus")),
    ("a frame-specific name", ("z_helio", "zhelio", "z_hel", "zhel", "z_cmb", "zcmb")),
    ("a 'best' name", ("z_best", "zbest")),
)
"""Redshift names, in tiers of equal standing, best first (module docstring)."""

BEST_Z_NOTE = (
    "it is spectroscopic in some releases (DESI zcatalog v2 Z_BEST) but mixes "
    "spectroscopic, grism and photometric redshifts in others (3D-HST z_best with "
    "z_best_s, ASTRODEEP): check it, or name another with {set}COLUMN"
)

Z_ERR_FOR_Z: dict[str, tuple[str, ...]] = {
    "z_best": ("zerr_best", "z_best_err"),
    "zbest": ("zerr_best", "zbest_err"),
    "z_spec": ("z_spec_err", "z_spec_error", "e_z_spec"),
    "zspec": ("zspec_err", "e_zspec"),
    "redshift": ("redshift_err", "redshift_error"),
}
"""The error column that goes with a redshift column, looked for first."""

Z_ERR_NAMES: tuple[str, ...] = (
    "z_err", "zerr", "z_error", "zerror", "e_z", "err_z", "z_spec_err", "zspec_err",
    "z_spec_error", "e_zspec", "redshift_err", "redshift_error", "sigma_z", "zsigma",
    "z_sigma", "zerr_best", "zfinalerr",
)
Z_FLAG_NAMES: tuple[str, ...] = (
    "z_flag", "zflag", "z_spec_flag", "zspec_flag", "zflags", "zflg", "z_qual", "zqual",
    "zquality", "z_quality", "qop", "qual", "quality", "q_z", "qz", "flag_z", "z_conf",
    "zconf", "cc", "nq", "zwarning", "z_warning", "zwarn", "zwarn_best", "qf",
)
ID_NAMES: tuple[str, ...] = (
    "specz_id", "specobjid", "spec_objid", "spec_obj_id", "specid", "spec_id", "unique_id",
    "targetid", "target_id", "ozdes_id", "objname", "object_id", "objid", "obj_id", "num",
    "id_iau", "id-iau", "cataid", "source_id", "galaxy_id", "id", "name",
)
"""Per-spectrum ids before per-object ids (SPECID before 6dFGS TARGETID, GAMA CATAID)."""

NEVER: dict[str, frozenset[str]] = {
    "ra": frozenset({
        "ra_b1950", "ra_b1950_deg", "ra1950", "rab1950", "ra_j2000_h", "ra_j2000_m",
        "ra_j2000_s", "rah", "ram", "ras", "plate_ra", "cenra_v", "cenra_r", "tile_ra",
        "std_fiber_ra", "ra_err", "e_ra", "ra_ivar", "pmra", "ra_nircam",
    }),
    "dec": frozenset({
        "dec_b1950", "dec_b1950_deg", "dec1950", "decb1950", "dec_j2000_d", "dec_j2000_m",
        "dec_j2000_s", "ded", "dem", "des", "plate_dec", "cendec_v", "cendec_r", "tile_dec",
        "std_fiber_dec", "dec_err", "e_dec", "dec_ivar", "pmdec", "dec_nircam",
    }),
    "z": frozenset({
        "z_phot", "zphot", "photoz", "photo_z", "z_photo", "zp", "zp_best", "zpdf",
        "z_peak", "z_peak_phot", "z_ml", "z_lephare", "z_eazy", "z_grism", "z_max_grism",
        "z_peak_grism", "z_prism", "z_r1000", "z_noqso", "z_pipe", "z_vi", "z_pca",
        "z_mgii", "z_qn", "z_qso", "z_rr", "z_emi", "z_abs", "z_origin", "z_comm", "zmag",
        "z_mag", "mag_z", "flux_z", "z_best_s",
    }),
    "z_flag": frozenset({
        "flag", "flags", "flag1", "flag2", "z_best_s", "use_phot", "use_zgrism", "dr_flag",
        "prism_flux_flag", "zwarning_noqso", "q_z_emi", "q_z_abs", "type",
    }),
    "id": frozenset({
        "nirspec_id", "phot_id", "bestobjid", "thing_id", "targetname", "tmid", "ls_id",
        "desiname",
    }),
}
"""Names never taken for a role, even when nothing else is there."""

FLAG_NOTES: dict[str, str] = {
    "zwarn": "a bitmask (DESI Redrock): 0 is good, any bit set is a warning; "
             "--z-flag-better lower makes 0 win --unique ties",
    "zwarn_best": "a bitmask (DESI zcatalog v2): 0 is good; --z-flag-better lower makes "
                  "0 win --unique ties",
    "zwarning": "a bitmask (SDSS/BOSS): 0 is good; --z-flag-better lower makes 0 win "
                "--unique ties",
    "z_warning": "a bitmask: 0 is good; --z-flag-better lower makes 0 win --unique ties",
    "qop": "OzDES quality: 4 > 3 > 2 > 1, and 6 is a star (which --z-flag-better higher "
           "ranks above a galaxy of quality 4: add --where 'qop != 6' to leave stars out)",
    "qual": "2dFLenS quality (2dFGRS scale): 3 and 4 are reliable, 6 is a star",
    "quality": "quality on the 2dFGRS/6dFGS scale: 3 and above are reliable; 6 is a star "
               "in 6dFGS",
    "zquality": "PRIMUS quality: 4 best, 3 good, 2 lower; -1 marks stars",
    "nq": "GAMA normalised quality: 3 and above for science",
    "z_conf": "DESI zcatalog v2 confidence: 0 none, 1 low, 3 high (higher is better)",
    "zflags": "a two-digit VVDS code (units digit: reliability 4 > 3 > 9 > 2 > 1 > 0; tens: "
              "AGN or secondary target), not an ordered scale",
    "zflg": "a two-digit VVDS-style code (units digit: reliability), not an ordered scale",
    "cc": "the zCOSMOS confidence class (units digit 4 > 3 > 9 > 2 > 1, decimals compare "
          "with photo-z), not an ordered scale",
}
"""What users must know about a quality flag of that name, said when it is taken."""

LETTER_GRADES = frozenset("ABCDEX")
"""Values of a letter-grade flag (JADES A-E, VIMOS A/B/C/X), A best: kept as they are."""

PRIMARY_FLAG_NAMES: tuple[str, ...] = (
    "zcat_primary", "main_primary", "sv_primary", "specprimary", "scienceprimary",
    "is_best", "is_sbest", "primary",
)
"""Columns that keep one spectrum per object (DESI, SDSS, GAMA), suggested when ids repeat."""
