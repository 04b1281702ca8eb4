"""The four full-sky dust maps' files: names, ``dustmaps`` sub-folders, sources, checksums.

Named as the ``--dust`` option names them; :mod:`tsmaker.science.dust_maps` finds the
files and queries them, :mod:`tsmaker.science.dust_fetch` downloads them.
"""

from dataclasses import dataclass

from tsmaker.errors import ChoiceError

DUST_MAP_NAMES: tuple[str, ...] = ("sfd", "csfd", "planck", "planck-gnilc")

_PLANCK_ARCHIVE_URL = "http://pla.esac.esa.int/pla/aio/product-action?MAP.MAP_ID="


@dataclass(frozen=True)
class MapFile:
    """One file of a dust map, and where ``dustmaps`` downloads it from."""

    file_name: str
    url: str | None  # None: looked up in the Harvard Dataverse by ``dataverse_doi``
    md5: str | None  # None: given by the Dataverse metadata at download time
    fits_hdu: int | str  # HDU that must exist for the file to be usable
    fits_column: str | None  # table column that must exist, None for an image
    dataverse_doi: str | None = None


@dataclass(frozen=True)
class MapSpec:
    """A dust map: its ``dustmaps`` sub-folder and files."""

    name: str
    subdir: str
    files: tuple[MapFile, ...]


# File names, URLs and md5 sums copied from dustmaps 1.0.14 (sfd.py, csfd.py, planck.py).
_SFD_DOI = "10.7910/DVN/EWCNL5"
MAP_SPECS: dict[str, MapSpec] = {
    "sfd": MapSpec(
        "sfd",
        "sfd",
        tuple(
            MapFile(f"SFD_dust_4096_{pole}.fits", None, None, 0, None, _SFD_DOI)
            for pole in ("ngp", "sgp")
        ),
    ),
    "csfd": MapSpec(
        "csfd",
        "csfd",
        (
            MapFile(
                "csfd_ebv.fits",
                "https://zenodo.org/record/8207175/files/csfd_ebv.fits",
                "31cd2eec51bcb5f106af84a610ced53c",
                "xtension",
                "T",
            ),
            MapFile(
                "mask.fits",
                "https://zenodo.org/record/8207175/files/mask.fits",
                "9142f5a5d184125836a68b6f48d1113f",
                "xtension",
                "T",
            ),
        ),
    ),
    "planck": MapSpec(
        "planck",
        "planck",
        (
            MapFile(
                "HFI_CompMap_ThermalDustModel_2048_R1.20.fits",
                _PLANCK_ARCHIVE_URL + "HFI_CompMap_ThermalDustModel_2048_R1.20.fits",
                "8d804f4e64e709f476a63f0dfed1fd11",
                "COMP-MAP",
                "EBV",
            ),
        ),
    ),
    "planck-gnilc": MapSpec(
        "planck-gnilc",
        "planck",
        (
            MapFile(
                "COM_CompMap_Dust-GNILC-Model-Opacity_2048_R2.01.fits",
                _PLANCK_ARCHIVE_URL + "COM_CompMap_Dust-GNILC-Model-Opacity_2048_R2.01.fits",
                "fc385c2ee5e82edf039cbca6e82d6872",
                1,
                "TAU353",
            ),
        ),
    ),
}


def map_spec(name: str) -> MapSpec:
    """The spec of map `name`, or ChoiceError (an InputError) listing the valid names."""
    try:
        return MAP_SPECS[name]
    except KeyError:
        raise ChoiceError(
            f"unknown dust map {name!r}; choose one of: {', '.join(DUST_MAP_NAMES)}"
        ) from None
