"""Pay hats' numba compilation once per machine, not once per process.

A run reads HATS files directly and compiles nothing; writing a HATS collection with
LSDB or hats-import (the demo and benchmark catalogs, :mod:`tsmaker.demo.mock_hats`) does.

hats compiles its pixel-alignment kernels with ``@njit`` and no cache, which costs
several seconds in every new process (and in every Dask worker). Numba can cache any
dispatcher on disk when asked before its first call: we ask for every dispatcher in the
loaded ``hats`` and ``lsdb`` modules. The cache lives in ``NUMBA_CACHE_DIR`` when set,
else in numba's own locations (next to the module when writable, else the user cache).
Numba checks the source file's timestamp, so an upgraded hats recompiles once.
"""

import sys

_done = False
_KERNEL_MODULES = (
    "hats.pixel_tree.pixel_alignment",
    "hats.pixel_tree.moc_filter",
    "nested_pandas.nestedframe.njit_funcs",
)


def enable_numba_caching() -> int:
    """Turn on numba's on-disk cache for hats' and lsdb's compiled kernels.

    Returns
    -------
    int
        How many dispatchers were switched to caching in this call.
    """
    global _done
    if _done:
        return 0
    try:
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:  # numba absent: nothing is compiled
        return 0
    import importlib

    for module_name in _KERNEL_MODULES:
        try:
            importlib.import_module(module_name)
        except ImportError:
            continue
    enabled = 0
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(("hats", "lsdb", "nested_pandas")):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher) and isinstance(value._cache, NullCache):
                try:
                    value.enable_caching()
                    enabled += 1
                except Exception:  # an uncachable kernel simply stays uncached
                    continue
    _done = True
    return enabled
