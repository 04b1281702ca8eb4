"""Runs queued now and executed later, in a process of their own: what a server submits.

:func:`submit_run` checks a run's parameters and registers it as a ``queued`` product
(nothing is registered for parameters that do not validate). The run itself happens
in another process, ``python -m tsmaker.run.jobs PRODUCT_ID``, which plans it, starts
the queued product (:meth:`tsmaker.registry.Registry.start_product`) and runs it like
``tsmaker run`` would: SIGTERM or Ctrl-C stop it cleanly, and a product cancelled
meanwhile stops it too. The process exits 0 (done), 1 (failed) or 130 (stopped),
with one ``Error:`` line on stderr when it did not finish.
"""

from __future__ import annotations

import sys
from dataclasses import fields
from typing import TYPE_CHECKING

from tsmaker.errors import RunInterrupted, TsmakerError
from tsmaker.parameters import RunParameters

if TYPE_CHECKING:
    from tsmaker.registry import ProductRecord, Registry
    from tsmaker.run.plan import Reporter


def submit_run(parameters: RunParameters, registry: Registry) -> ProductRecord:
    """Validate the parameters and register a queued product for them.

    Raises
    ------
    ParameterError
        A parameter with a value it cannot take: nothing is registered.
    """
    parameters.validate()
    from tsmaker.run.provenance import software_versions

    return registry.create_product(
        name=parameters.name,
        description=parameters.description,
        parameters=parameters.to_dict(),
        inputs={},
        versions=software_versions(),
        status="queued",
    )


def queued_parameters(product: ProductRecord) -> RunParameters:
    """The parameters a queued product was submitted with."""
    known = {field.name for field in fields(RunParameters)}
    return RunParameters.from_mapping(
        {key: value for key, value in product.parameters.items() if key in known}
    )


def run_queued(
    product_id: int, *, registry: Registry | None = None, report: Reporter | None = None
) -> ProductRecord:
    """Run a queued product in this process; the finished record.

    A problem found while planning (an unreadable catalog, a column that is not there)
    fails the queued product with its message.
    """
    from tsmaker.registry import using_registry
    from tsmaker.run.pipeline import execute_plan
    from tsmaker.run.plan import plan_run, silent
    from tsmaker.run.reaping import reap_interrupted_products

    report = report or silent
    with using_registry(registry) as opened:
        reap_interrupted_products(opened)
        product = opened.get_product(product_id)
        try:
            plan = plan_run(queued_parameters(product), opened, report)
        except BaseException as error:
            interrupted = isinstance(error, KeyboardInterrupt | RunInterrupted)
            message = "interrupted" if interrupted else str(error)
            opened.fail_product(product.id, status="interrupted" if interrupted else "failed",
                                message=message[:2000])
            raise
        return execute_plan(plan, opened, report, queued_id=product.id)


def main(argv: list[str] | None = None) -> int:
    """``python -m tsmaker.run.jobs PRODUCT_ID``: run one queued product; the exit code."""
    import signal

    from tsmaker import settings

    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1 or not arguments[0].isdigit():
        sys.stderr.write("usage: python -m tsmaker.run.jobs PRODUCT_ID\n")
        return 2

    def stop(signum: int, frame: object) -> None:
        raise RunInterrupted("stopped by SIGTERM")

    signal.signal(signal.SIGTERM, stop)
    try:
        run_queued(int(arguments[0]))
    except TsmakerError as error:
        if settings.debug_enabled():
            raise
        sys.stderr.write(f"Error: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process
    sys.exit(main())
