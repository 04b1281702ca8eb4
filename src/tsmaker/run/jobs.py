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
    from tsmaker.run.rerun import EarlierProduct

#: Summary key of a queued rerun: the product it starts from, and whether changed
#: inputs are accepted (what ``--like`` and ``--accept-changed-inputs`` say).
RERUN_KEY = "rerun_of"


def submit_run(parameters: RunParameters, registry: Registry,
               earlier: EarlierProduct | None = None) -> ProductRecord:
    """Validate the parameters and register a queued product for them.

    With ``earlier`` (a rerun, ``like``), the job compares that product's inputs with
    today's as ``tsmaker run --like`` does (:mod:`tsmaker.run.rerun`).

    Raises
    ------
    ParameterError
        A parameter with a value it cannot take: nothing is registered.
    """
    parameters.validate()
    from tsmaker.run.provenance import software_versions

    product = registry.create_product(
        name=parameters.name,
        description=parameters.description,
        parameters=parameters.to_dict(),
        inputs={},
        versions=software_versions(),
        status="queued",
    )
    if earlier is not None:
        registry.update_product_summary(product.id, {RERUN_KEY: {
            "product": earlier.full_name,
            "accept_changed_inputs": earlier.accept_changed_inputs}})
        product = registry.get_product(product.id)
    return product


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
    from tsmaker.run.progress import ProgressRecorder
    from tsmaker.run.reaping import reap_interrupted_products

    report = report or silent
    with using_registry(registry) as opened:
        reap_interrupted_products(opened)
        product = opened.get_product(product_id)
        try:
            # The queued product shows the planning steps (reading a large spec-z file).
            planning = ProgressRecorder(opened, product.id, report)
            plan = plan_run(queued_parameters(product), opened, planning,
                            _earlier_product(product, opened))
        except BaseException as error:
            interrupted = isinstance(error, KeyboardInterrupt | RunInterrupted)
            message = "interrupted" if interrupted else str(error)
            opened.fail_product(product.id, status="interrupted" if interrupted else "failed",
                                message=message[:2000])
            raise
        return execute_plan(plan, opened, report, queued_id=product.id)


def _earlier_product(product: ProductRecord, registry: Registry) -> EarlierProduct | None:
    """The product a queued rerun starts from (:data:`RERUN_KEY`); None for a new run."""
    from tsmaker.run.rerun import EarlierProduct

    rerun = product.summary.get(RERUN_KEY)
    if not rerun:
        return None
    return EarlierProduct.of(registry.get_product(rerun["product"]),
                             accept_changed_inputs=bool(rerun["accept_changed_inputs"]))


USAGE = "usage: python -m tsmaker.run.jobs PRODUCT_ID [--parent-pid PID]\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m tsmaker.run.jobs PRODUCT_ID``: run one queued product; the exit code.

    With ``--parent-pid PID`` (what a server gives the jobs it starts), the run stops
    cleanly, as on SIGTERM, when that process dies, even by SIGKILL.
    """
    import signal
    from types import FrameType

    from tsmaker import settings
    from tsmaker.signals import defer_if_importing

    arguments = sys.argv[1:] if argv is None else argv
    parent_pid: int | None = None
    if len(arguments) == 3 and arguments[1] == "--parent-pid" and arguments[2].isdigit():
        parent_pid = int(arguments[2])
        arguments = arguments[:1]
    if len(arguments) != 1 or not arguments[0].isdigit():
        sys.stderr.write(USAGE)
        return 2

    def stop(signum: int, frame: FrameType | None) -> None:
        if defer_if_importing(signum, frame):  # raised there, it would be lost
            return
        # Once: a second SIGTERM (a server stopping the job's whole process group after
        # `products rm --force` signalled it) must not cut the clean-up short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise RunInterrupted("stopped by SIGTERM")

    signal.signal(signal.SIGTERM, stop)
    product_id = int(arguments[0])
    try:
        if parent_pid is not None:
            stop_with_parent(parent_pid)
        run_queued(product_id)
    except (KeyboardInterrupt, RunInterrupted) as error:
        if _is_done(product_id):  # the signal came once the product was recorded done
            return 0
        if settings.debug_enabled():
            raise
        sys.stderr.write(f"Error: {str(error) or 'interrupted'}\n")
        return 130
    except TsmakerError as error:
        if settings.debug_enabled():
            raise
        sys.stderr.write(f"Error: {error}\n")
        return error.exit_code
    return 0


def _is_done(product_id: int) -> bool:
    """True when the product is recorded done (the exit code must then be 0)."""
    from tsmaker.registry import using_registry

    try:
        with using_registry() as registry:
            return registry.product_status(product_id) == "done"
    except TsmakerError:
        return False


def stop_with_parent(parent_pid: int) -> None:
    """Have the kernel send this process SIGTERM when its parent dies (Linux only).

    The parent is checked afterwards: one that died before the request was made
    stops the run at once.

    Raises
    ------
    RunInterrupted
        The parent ``parent_pid`` is already gone.
    """
    import ctypes
    import os
    import signal

    set_parent_death_signal = 1  # PR_SET_PDEATHSIG in <linux/prctl.h>
    try:
        ctypes.CDLL(None, use_errno=True).prctl(set_parent_death_signal, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the server's shutdown stops its jobs
        return
    if os.getppid() != parent_pid:
        raise RunInterrupted(f"the server (pid {parent_pid}) that started this run is gone")


if __name__ == "__main__":  # pragma: no cover - run as a process
    sys.exit(main())
