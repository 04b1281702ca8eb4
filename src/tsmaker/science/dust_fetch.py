"""Downloading dust maps into the folder layout ``dustmaps`` uses.

:func:`fetch_map` streams each file of a map from the URL ``dustmaps``' own ``fetch()``
uses (SFD through the Harvard Dataverse, by DOI), checks it (md5 from the official
sources; from any source, that it opens as FITS with the HDU and column ``dustmaps``
reads), then renames it into place. Locating and querying maps is
:mod:`tsmaker.science.dust`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from tsmaker import atomic, settings
from tsmaker.errors import DustMapError, InputError
from tsmaker.science.dust_map_specs import MapFile, map_spec
from tsmaker.science.dust_maps import DustMapLocation, locate_in, missing_message

_DATAVERSE_URL = "https://dataverse.harvard.edu"
_CHUNK_BYTES = 1 << 20
_TIMEOUT_SECONDS = (30.0, 120.0)


def _one_line(text: str) -> str:
    """Collapse whitespace so a message fits on one line."""
    return re.sub(r"\s+", " ", text).strip()


def _network_reason(error: BaseException) -> str:
    """The most specific reason in an exception chain (e.g. ``Connection refused``).

    requests wraps the socket error in urllib3's ``MaxRetryError.reason``; the OS
    message at the bottom of that chain is what a user can act on.
    """
    reason = _one_line(str(error)) or type(error).__name__
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            reason = current.strerror
        for argument in getattr(current, "args", ()):
            inner = getattr(argument, "reason", None)
            if isinstance(inner, BaseException):
                current = inner
                break
        else:
            current = current.__cause__ or current.__context__
    return reason


def _download_failed(url: str, reason: str, file_name: str, folder: Path) -> DustMapError:
    """The one-line error for a failed download, with the offline alternative."""
    return DustMapError(
        f"could not download {url}: {_one_line(reason)}; alternatively copy {file_name} "
        f"into {folder} yourself, or set {settings.ENV_DUSTMAPS_DIR} (or --dust-dir) to a "
        "folder holding the map"
    )


def _dataverse_file(doi: str, file_name: str, folder: Path) -> tuple[str, str | None]:
    """Download URL and md5 of `file_name` in a Dataverse dataset, as dustmaps finds them."""
    import requests

    lookup_url = f"{_DATAVERSE_URL}/api/datasets/:persistentId?persistentId=doi:{doi}"
    try:
        response = requests.get(lookup_url, timeout=_TIMEOUT_SECONDS)
        response.raise_for_status()
        files = response.json()["data"]["latestVersion"]["files"]
    except requests.RequestException as error:
        raise _download_failed(lookup_url, _network_reason(error), file_name, folder) from error
    except (ValueError, KeyError, TypeError) as error:
        raise _download_failed(
            lookup_url, f"unexpected Dataverse answer ({error!r})", file_name, folder
        ) from error
    for entry in files:
        data_file = entry.get("dataFile", {})
        if data_file.get("filename") == file_name:
            return f"{_DATAVERSE_URL}/api/access/datafile/{data_file['id']}", data_file.get("md5")
    raise _download_failed(lookup_url, f"no file named {file_name} in doi:{doi}", file_name, folder)


def _md5_of(path: Path) -> str:
    """Hex md5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fits_problem(path: Path, map_file: MapFile) -> str | None:
    """Why `path` is not a usable map file (wrong HDU, column or not FITS), or None."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdus:
            hdu = hdus[map_file.fits_hdu]
            if map_file.fits_column is None:
                if hdu.header.get("NAXIS", 0) != 2:
                    return f"HDU {map_file.fits_hdu!r} is not a 2-D image"
            elif map_file.fits_column not in hdu.columns.names:
                return f"HDU {map_file.fits_hdu!r} has no column {map_file.fits_column!r}"
    except (OSError, KeyError, IndexError, ValueError, AttributeError) as error:
        return f"not a readable FITS map ({_one_line(str(error)) or type(error).__name__})"
    return None


def _refuse_site_packages(folder: Path) -> None:
    """Refuse to download into an installed package folder (e.g. dustmaps' own data)."""
    import sysconfig

    target = folder.resolve()
    for key in ("purelib", "platlib"):
        library = Path(sysconfig.get_paths()[key]).resolve()
        if target == library or library in target.parents:
            raise InputError(
                f"refusing to download dust maps into {folder}, inside {library}; "
                f"choose another --dust-dir or set {settings.ENV_DUSTMAPS_DIR}"
            )


def _stream_to(
    url: str,
    destination: Path,
    progress: Callable[[int, int | None], None] | None,
) -> tuple[atomic.PendingFile, str]:
    """Stream `url` into the temporary name of `destination`; the pending file and its md5.

    The caller checks the file, then moves it into place or discards it
    (:class:`tsmaker.atomic.PendingFile`), so a file under the map's name is always whole.
    """
    import requests

    partial = atomic.partial_path(destination)
    digest = hashlib.md5()
    try:
        with requests.get(url, stream=True, timeout=_TIMEOUT_SECONDS) as response:
            response.raise_for_status()
            length = response.headers.get("content-length")
            total_bytes = int(length) if length and length.isdigit() else None
            done_bytes = 0
            if progress is not None:
                progress(done_bytes, total_bytes)
            with open(partial, "wb") as stream:
                for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
                    stream.write(chunk)
                    digest.update(chunk)
                    done_bytes += len(chunk)
                    if progress is not None:
                        progress(done_bytes, total_bytes)
    except requests.RequestException as error:
        atomic.remove(partial)
        raise _download_failed(
            url, _network_reason(error), destination.name, destination.parent
        ) from error
    except BaseException:
        atomic.remove(partial)
        raise
    return atomic.PendingFile(partial, destination, replace=True), digest.hexdigest()


def fetch_map(
    name: str,
    dust_dir: Path | None = None,
    *,
    base_url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> DustMapLocation:
    """Download the files of dust map `name`, in the layout dustmaps uses.

    Files go to ``<dust_dir or settings.default_dustmaps_dir()>/<subdir>/<file name>``
    (``sfd``, ``csfd`` or ``planck``), come from the URLs that dustmaps' ``fetch()``
    functions use (SFD is looked up in the Harvard Dataverse by DOI, as dustmaps does)
    and are streamed to a hidden temporary name, checked, then renamed, so an
    interrupted or wrong download never leaves a file that looks complete. Files
    already present and valid are kept. dustmaps' config file and its package folder
    are never written.

    Integrity: from the official sources the md5 sums dustmaps knows (or that the
    Dataverse reports) are checked. With `base_url` (a mirror, or a test server) the
    md5 check is skipped, because the known sums describe only the official files and
    a mirror may legitimately hold re-packed copies; instead every file, from any
    source, must open as FITS with the HDU and column dustmaps reads. That structural
    check also rejects HTML error pages and truncated downloads.

    Parameters
    ----------
    name : str
        One of `DUST_MAP_NAMES`.
    dust_dir : Path or None
        Destination folder; default ``settings.default_dustmaps_dir()``.
    base_url : str or None
        Replaces the official URL prefix: each file is fetched from
        ``<base_url>/<file name>``.
    progress : callable or None
        Called as ``progress(bytes_done, total_bytes_or_None)`` while each file
        downloads (counts restart at 0 for each file).

    Returns
    -------
    DustMapLocation
        The map's location in the destination folder (``found=True``).

    Raises
    ------
    InputError
        If `name` is unknown, or the destination is inside site-packages.
    DustMapError
        On a network failure, a wrong md5 or an unusable file, with a one-line message
        naming the URL, the reason and the offline alternative.
    """
    spec = map_spec(name)
    if dust_dir is not None:
        searched = [("--dust-dir", Path(dust_dir).expanduser())]
    else:
        searched = [(settings.ENV_HOME, settings.default_dustmaps_dir())]
    folder = searched[0][1] / spec.subdir
    _refuse_site_packages(folder)
    folder.mkdir(parents=True, exist_ok=True)

    for map_file in spec.files:
        destination = folder / map_file.file_name
        if base_url is not None:
            url, md5 = f"{base_url.rstrip('/')}/{map_file.file_name}", None
        elif map_file.url is None:
            assert map_file.dataverse_doi is not None
            url, md5 = _dataverse_file(map_file.dataverse_doi, map_file.file_name, folder)
        else:
            url, md5 = map_file.url, map_file.md5

        if destination.is_file() and _fits_problem(destination, map_file) is None:
            if md5 is None or _md5_of(destination) == md5:
                continue
        pending, downloaded_md5 = _stream_to(url, destination, progress)
        try:
            problem = None
            if md5 is not None and downloaded_md5 != md5:
                problem = f"md5 {downloaded_md5} differs from the expected {md5}"
            problem = problem or _fits_problem(pending.temporary, map_file)
            if problem is not None:
                raise _download_failed(url, problem, destination.name, folder)
            pending.commit()
        except BaseException:
            pending.discard()
            raise

    location = locate_in(spec, searched)
    if not location.found:
        raise DustMapError(missing_message(location))
    return location
