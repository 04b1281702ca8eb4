"""What a product records about how it was made, in the registry and inside its files.

The same resolved parameters, inputs and software versions go to the registry record
(``tsmaker products show --json``), the sidecar JSON (which equals that record) and
the metadata embedded in every data file (Parquet key ``tsmaker``, FITS card
``TSMPARAM``, HDF5 attribute ``tsmaker_parameters``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsmaker.run.plan import RunPlan

SORT_ORDER = "spec-z HEALPix order-29 index, spec-z key, match_rank"
"""The documented row order of every product."""

VERSIONED_PACKAGES: tuple[str, ...] = (
    "tsmaker", "lsdb", "hats", "dustmaps", "nested-pandas", "dask", "pandas", "pyarrow",
    "numpy", "astropy", "h5py",
)


def resolved_parameters(plan: RunPlan) -> dict[str, object]:
    """The run's parameters as the run resolved them.

    The given parameters, with what the plan decided filled in: the flux type and its
    bands, the extinction coefficients applied (None without dereddening), the zero
    point and the row order.
    """
    parameters = plan.parameters.to_dict()
    parameters["flux_type"] = plan.recipe.flux_type
    parameters["bands"] = list(plan.recipe.bands)
    parameters["extinction_coeffs"] = (
        dict(plan.recipe.extinction_coeffs) if plan.recipe.dust.dereddens else None
    )
    parameters["zero_point"] = plan.recipe.zero_point
    parameters["sort_order"] = SORT_ORDER
    return parameters


def software_versions() -> dict[str, str | None]:
    """Versions of tsmaker and the libraries that shape its results."""
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def product_metadata(plan: RunPlan) -> dict[str, object]:
    """What every data file embeds: resolved parameters, inputs, software versions.

    ``tsmaker`` holds :func:`resolved_parameters` (what the registry record's
    ``parameters`` hold), ``inputs`` the locations, columns and fingerprints of the two
    catalogs, ``versions`` :func:`software_versions`.
    """
    return {
        "tsmaker": resolved_parameters(plan),
        "inputs": plan.inputs,
        "versions": software_versions(),
    }
