"""``tsmaker products ...``: list, show, locate, plot and remove products."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from tsmaker.cli.app import JsonOption, products_app

ProductArgument = Annotated[str, typer.Argument(help="Product id, NAME_<id>, or a unique name.")]


@products_app.command("list")
def products_list(json_output: JsonOption = False) -> None:
    """All products, newest first."""
    from tsmaker.cli.render import print_json, print_table
    from tsmaker.manage.products import list_products

    products = [product.to_dict() for product in list_products()]
    if json_output:
        print_json(products)
        return
    for product in products:
        product["progress"] = _progress(product)
    print_table(products, ["id", "full_name", "status", "progress", "rows", "created_at",
                           "description"], "Products")


def _progress(product: dict) -> str | None:
    """``done/total`` partitions of a running product; its step while it gets ready."""
    progress = product["summary"].get("progress") or {}
    if product["status"] not in ("queued", "running"):
        return None
    if progress.get("partitions_total") is not None:
        return f"{progress['partitions_done']}/{progress['partitions_total']} partitions"
    return progress.get("step")


@products_app.command("show")
def products_show(ref: ProductArgument, json_output: JsonOption = False) -> None:
    """Everything recorded about one product."""
    from tsmaker.cli.render import print_json, print_record, shown_record
    from tsmaker.manage.products import get_product

    product = get_product(ref).to_dict()
    if json_output:
        print_json(product)
    else:
        print_record(shown_record(product), f"Product {product['full_name']}")


@products_app.command("path")
def products_path(ref: ProductArgument) -> None:
    """Print the product's data file path (for scripts); an error unless it is there."""
    from tsmaker.manage.products import data_path, get_product

    sys.stdout.write(f"{data_path(get_product(ref), purpose='located')}\n")


@products_app.command("rm")
def products_rm(
    ref: ProductArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Remove even if still running.")] = False,
) -> None:
    """Remove a product's files and its record together."""
    from tsmaker.cli.render import message
    from tsmaker.manage.products import get_product, remove_product

    product = get_product(ref)
    if not yes:
        if not sys.stdin.isatty():
            from tsmaker.errors import InputError

            raise InputError(f"refusing to remove {product.full_name} without confirmation; "
                             "add --yes")
        typer.confirm(f"Remove {product.full_name} and {len(product.files)} file(s)?",
                      abort=True)
    removed = remove_product(product.id, force=force)
    message(f"Removed {removed.full_name} ({len(removed.files)} file(s))")


@products_app.command("plot")
def products_plot(
    ref: ProductArgument,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="PNG file to write.")]
    = None,
    json_output: JsonOption = False,
) -> None:
    """Overview PNG of a product: its matches, redshifts, colours and coverage.

    Redshifts, magnitudes, match distances, the sky, z vs magnitude, colours vs z,
    training vs photometric magnitudes, the colour-colour coverage map and the coverage
    by magnitude. With --json, prints the PNG's path and the numbers behind the
    coverage panels.
    """
    from tsmaker.manage.products import plot_product_figures

    figures = plot_product_figures(ref, output)
    if json_output:
        from tsmaker.cli.render import print_json

        print_json(figures)
    else:
        sys.stdout.write(figures["png"] + "\n")
