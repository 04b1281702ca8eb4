"""``tsmaker catalogs ...``: list, show, add and remove catalogs; an object catalog's flux types."""

from pathlib import Path
from typing import Annotated

import typer

from tsmaker.cli.app import JsonOption, catalogs_app


@catalogs_app.command("list")
def catalogs_list(json_output: JsonOption = False) -> None:
    """Object and redshift catalogs: kind, location, rows, reachable now."""
    from tsmaker.cli.render import print_json, print_table
    from tsmaker.manage.catalogs import list_catalogs

    rows = list_catalogs()
    if json_output:
        print_json(rows)
    else:
        print_table(rows, ["name", "kind", "profile", "rows", "reachable", "location"],
                    "Catalogs")


@catalogs_app.command("show")
def catalogs_show(
    ref: Annotated[str, typer.Argument(help="Catalog name or id.")],
    json_output: JsonOption = False,
) -> None:
    """Everything known about one catalog (profile, columns, extinction coefficients)."""
    from tsmaker.cli.render import print_json, print_record
    from tsmaker.manage.catalogs import show_catalog

    record = show_catalog(ref)
    if json_output:
        print_json(record)
    else:
        print_record(record, f"Catalog {record['name']}")


@catalogs_app.command("remove")
def catalogs_remove(ref: Annotated[str, typer.Argument(help="Catalog name or id.")]) -> None:
    """Forget a registered catalog (its files are not touched)."""
    from tsmaker.cli.render import message
    from tsmaker.manage.catalogs import remove_catalog

    record = remove_catalog(ref)
    message(f"Removed {record['kind']} catalog {record['name']!r} ({record['location']})")


@catalogs_app.command("flux-types")
def catalogs_flux_types(
    ref: Annotated[str, typer.Argument(help="Object catalog name, id, or HATS path/URL.")],
    json_output: JsonOption = False,
) -> None:
    """Flux types found in the catalog's schema ({band}_{type}Flux and ...FluxErr)."""
    from tsmaker.cli.render import print_json, print_table
    from tsmaker.manage.catalogs import flux_types

    found = flux_types(ref)
    if json_output:
        print_json(found)
    else:
        rows = [{"flux_type": key, "bands": "".join(bands)} for key, bands in found.items()]
        print_table(rows, ["flux_type", "bands"], f"Flux types in {ref}")


@catalogs_app.command("add-object")
def catalogs_add_object(
    name: Annotated[str, typer.Argument(help="Name to register.")],
    location: Annotated[str, typer.Argument(help="HATS catalog or collection: path or URL.")],
    profile: Annotated[str, typer.Option(help="dp1, dp02, lsstcam or generic.")] = "generic",
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Register a HATS object catalog or collection."""
    from tsmaker.cli.render import message, print_json
    from tsmaker.manage.catalogs import add_object_catalog

    record = add_object_catalog(name, location, profile=profile, description=description)
    if json_output:
        print_json(record)
    else:
        message(f"Registered object catalog {record['name']!r}: {record['location']}")


@catalogs_app.command("add-redshift")
def catalogs_add_redshift(
    name: Annotated[str, typer.Argument(help="Name to register.")],
    file: Annotated[Path, typer.Argument(help="Parquet, CSV, FITS, HDF5 file or HATS folder.")],
    ra: Annotated[str | None, typer.Option(help="RA column (degrees).")] = None,
    dec: Annotated[str | None, typer.Option(help="Dec column (degrees).")] = None,
    z: Annotated[str | None, typer.Option(help="Redshift column.")] = None,
    z_err: Annotated[str | None, typer.Option(
        help="Redshift error column; none: no error column.")] = None,
    z_flag: Annotated[str | None, typer.Option(
        help="Quality flag column; none: no flag column.")] = None,
    id_: Annotated[str | None, typer.Option(
        "--id", help="Unique id column; none: no id column (spec-z keyed by specz_row).")
    ] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Register a redshift catalog; columns are detected from the names surveys use.

    Prints which column it took for each role and why, and what to know about them.
    """
    from rich.markup import escape

    from tsmaker.cli.render import message, print_json
    from tsmaker.manage.catalogs import add_redshift_catalog

    overrides = {"ra": ra, "dec": dec, "z": z, "z_err": z_err, "z_flag": z_flag, "id": id_}
    record = add_redshift_catalog(name, file, overrides, description=description)
    if json_output:
        print_json(record)
        return
    message(escape(f"Registered redshift catalog {record['name']!r} "
                   f"({record['row_count']} rows)"))
    detection = record["detection"]
    for role, reason in detection["reasons"].items():
        message(escape(f"  {role:<6} {reason}"))
    for notice in detection["notices"]:
        message(escape(f"  note: {notice}"))
