"""Tests of tsmaker.science.dust_maps on tiny dust maps written in the real on-disk formats."""

from __future__ import annotations

import functools
import json
import pickle
import shutil
import socket
import sysconfig
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dustmap_fixtures as fx
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tsmaker import settings
from tsmaker.errors import DustMapError, InputError
from tsmaker.science import dust_fetch, dust_maps
from tsmaker.science.dust_maps import ebv_at, require_map

MAP_SUBDIRS = {"sfd": "sfd", "csfd": "csfd", "planck": "planck", "planck-gnilc": "planck"}
MAP_FILES = {
    "sfd": ("SFD_dust_4096_ngp.fits", "SFD_dust_4096_sgp.fits"),
    "csfd": ("csfd_ebv.fits", "mask.fits"),
    "planck": (fx.PLANCK_FILE,),
    "planck-gnilc": (fx.GNILC_FILE,),
}


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every user folder and config file at tmp_path; check dustmaps' is untouched."""
    user_home = tmp_path / "user"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user_home / ".config"))
    monkeypatch.setenv("DUSTMAPS_CONFIG_FNAME", str(user_home / ".dustmapsrc"))
    monkeypatch.setenv(settings.ENV_HOME, str(tmp_path / "tsmaker-home"))
    monkeypatch.delenv(settings.ENV_DUSTMAPS_DIR, raising=False)
    yield user_home
    assert not (user_home / ".dustmapsrc").exists()
    assert not (user_home / ".config").exists()
    dust_maps._cached_query.cache_clear()


def _galactic(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    galactic = SkyCoord(ra_deg, dec_deg, frame="icrs", unit="deg").galactic
    return galactic.l.deg, galactic.b.deg


def _test_points(count: int = 1000, seed: int = 7) -> tuple[np.ndarray, ...]:
    """ICRS points away from the fixture quadrant borders, with their galactic l, b."""
    rng = np.random.default_rng(seed)
    ra_deg = rng.uniform(0.0, 360.0, 8 * count)
    dec_deg = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 8 * count)))
    l_deg, b_deg = _galactic(ra_deg, dec_deg)
    distance_from_meridian_deg = np.abs(np.mod(l_deg + 90.0, 180.0) - 90.0)
    keep = (np.abs(b_deg) > 15.0) & (np.abs(b_deg) < 70.0) & (distance_from_meridian_deg > 20.0)
    keep = np.flatnonzero(keep)[:count]
    assert keep.size == count
    return ra_deg[keep], dec_deg[keep], l_deg[keep], b_deg[keep]


@pytest.fixture(scope="module")
def maps_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dustmaps")
    fx.write_all_maps(root)
    return root


# ---------------------------------------------------------------- ebv_at


@pytest.mark.parametrize("name", dust_maps.DUST_MAP_NAMES)
def test_ebv_at_returns_the_map_constants_in_every_quadrant(name: str, maps_root: Path) -> None:
    ra_deg, dec_deg, l_deg, b_deg = _test_points()
    location = require_map(name, maps_root)
    assert location.directory == maps_root / MAP_SUBDIRS[name]

    ebv = ebv_at(name, ra_deg, dec_deg, location)

    expected = fx.expected_ebv(name, l_deg, b_deg)
    assert ebv.dtype == np.float64
    assert ebv.shape == ra_deg.shape
    assert len(np.unique(expected)) == 4  # both hemispheres, both longitude halves
    if name == "planck-gnilc":  # 1.49e4 * TAU353 is computed in float32 by dustmaps
        np.testing.assert_allclose(ebv, expected, rtol=1e-6, atol=0.0)
    else:
        np.testing.assert_array_equal(ebv, expected)


def test_ebv_at_galactic_poles_pick_their_hemisphere(maps_root: Path) -> None:
    poles = SkyCoord([0.0, 0.0], [90.0, -90.0], frame="galactic", unit="deg").icrs
    for name in ("csfd", "planck"):
        ebv = ebv_at(name, poles.ra.deg, poles.dec.deg, require_map(name, maps_root))
        north_values, south_values = np.asarray(fx.EBV[name], dtype=np.float32)
        assert ebv[0] in north_values
        assert ebv[1] in south_values


def test_ebv_at_keeps_shape_and_gives_nan_for_unusable_coordinates(maps_root: Path) -> None:
    ra_deg, dec_deg, l_deg, b_deg = _test_points(count=6)
    ra_grid = ra_deg.reshape(2, 3).copy()
    dec_grid = dec_deg.reshape(2, 3).copy()
    ra_grid[0, 1] = np.nan
    dec_grid[1, 2] = 95.0

    ebv = ebv_at("sfd", ra_grid, dec_grid, require_map("sfd", maps_root))

    expected = fx.expected_ebv("sfd", l_deg, b_deg).reshape(2, 3)
    expected[0, 1] = np.nan
    expected[1, 2] = np.nan
    assert ebv.shape == (2, 3)
    np.testing.assert_array_equal(ebv, expected)


def test_ebv_at_empty_input_gives_empty_float64(maps_root: Path) -> None:
    ebv = ebv_at("planck", np.array([]), np.array([]), require_map("planck", maps_root))
    assert ebv.shape == (0,)
    assert ebv.dtype == np.float64


def test_ebv_at_one_million_positions_in_one_call(maps_root: Path) -> None:
    rng = np.random.default_rng(3)
    position_count = 1_000_000
    ra_deg = rng.uniform(0.0, 360.0, position_count)
    dec_deg = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, position_count)))

    ebv = ebv_at("sfd", ra_deg, dec_deg, require_map("sfd", maps_root))

    constants = np.asarray(fx.EBV["sfd"], dtype=np.float32)
    assert ebv.shape == (position_count,)
    assert np.isfinite(ebv).all()
    # linear interpolation never leaves the range of the map values
    assert constants.min() <= ebv.min() and ebv.max() <= constants.max()
    assert np.isin(ebv, constants.astype(np.float64)).mean() > 0.9


def test_ebv_at_loads_a_map_once_per_directory(maps_root: Path) -> None:
    ra_deg, dec_deg, _l_deg, _b_deg = _test_points(count=10)
    location = require_map("csfd", maps_root)
    dust_maps._cached_query.cache_clear()
    ebv_at("csfd", ra_deg, dec_deg, location)
    ebv_at("csfd", ra_deg[:3], dec_deg[:3], location)
    info = dust_maps._cached_query.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_ebv_at_and_location_survive_pickling(maps_root: Path) -> None:
    import cloudpickle

    ra_deg, dec_deg, l_deg, b_deg = _test_points(count=20)
    location = require_map("planck", maps_root)
    task = functools.partial(dust_maps.ebv_at, "planck", location=location)

    for dumps in (pickle.dumps, cloudpickle.dumps):
        restored = pickle.loads(dumps(task))
        np.testing.assert_array_equal(
            restored(ra_deg, dec_deg), fx.expected_ebv("planck", l_deg, b_deg)
        )
    assert pickle.loads(pickle.dumps(location)) == location


def test_ebv_at_rejects_a_location_of_another_map_or_a_missing_one(maps_root: Path) -> None:
    ra_deg = np.array([10.0])
    dec_deg = np.array([20.0])
    with pytest.raises(InputError, match="'planck'.*'sfd'"):
        ebv_at("planck", ra_deg, dec_deg, require_map("sfd", maps_root))
    missing = dust_maps.locate_map("csfd")
    assert not missing.found
    with pytest.raises(DustMapError, match="tsmaker dust fetch csfd"):
        ebv_at("csfd", ra_deg, dec_deg, missing)
    with pytest.raises(InputError, match="differ in shape"):
        ebv_at("sfd", ra_deg, np.array([1.0, 2.0]), require_map("sfd", maps_root))


# ---------------------------------------------------------------- locating


def _write_dustmaps_config(user_home: Path, data_dir: str) -> Path:
    config_path = user_home / "dustmaps-config.json"
    config_path.write_text(json.dumps({"data_dir": data_dir}))
    return config_path


def test_candidate_dirs_order_and_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_user_dirs: Path
) -> None:
    monkeypatch.setenv(settings.ENV_DUSTMAPS_DIR, str(tmp_path / "env"))
    monkeypatch.setenv("MAPS_ROOT", str(tmp_path))
    config_path = _write_dustmaps_config(isolated_user_dirs, "$MAPS_ROOT/configured")
    monkeypatch.setenv("DUSTMAPS_CONFIG_FNAME", str(config_path))

    candidates = dust_maps.candidate_dirs(tmp_path / "option")

    assert candidates == [
        ("--dust-dir", tmp_path / "option"),
        ("TSMAKER_DUSTMAPS_DIR", tmp_path / "env"),
        ("dustmaps config", tmp_path / "configured"),
        ("TSMAKER_HOME", tmp_path / "tsmaker-home" / "dustmaps"),
    ]


def test_candidate_dirs_skip_unset_unreadable_and_repeated_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_user_dirs: Path
) -> None:
    assert dust_maps.candidate_dirs() == [("TSMAKER_HOME", tmp_path / "tsmaker-home" / "dustmaps")]

    corrupt = isolated_user_dirs / "corrupt.json"
    corrupt.write_text("{not json")
    monkeypatch.setenv("DUSTMAPS_CONFIG_FNAME", str(corrupt))
    monkeypatch.setenv(settings.ENV_DUSTMAPS_DIR, str(tmp_path / "same"))
    assert dust_maps.candidate_dirs(tmp_path / "same") == [
        ("--dust-dir", tmp_path / "same"),
        ("TSMAKER_HOME", tmp_path / "tsmaker-home" / "dustmaps"),
    ]
    assert corrupt.read_text() == "{not json"


def test_locate_map_search_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_user_dirs: Path
) -> None:
    option_dir, env_dir, configured_dir = (tmp_path / n for n in ("option", "env", "configured"))
    home_maps = tmp_path / "tsmaker-home" / "dustmaps"
    for folder in (option_dir, env_dir, configured_dir, home_maps):
        fx.write_sfd(folder / "sfd")
    monkeypatch.setenv(settings.ENV_DUSTMAPS_DIR, str(env_dir))
    config_path = _write_dustmaps_config(isolated_user_dirs, str(configured_dir))
    monkeypatch.setenv("DUSTMAPS_CONFIG_FNAME", str(config_path))

    assert dust_maps.locate_map("sfd", option_dir).directory == option_dir / "sfd"
    assert dust_maps.locate_map("sfd").directory == env_dir / "sfd"
    monkeypatch.delenv(settings.ENV_DUSTMAPS_DIR)
    assert dust_maps.locate_map("sfd").directory == configured_dir / "sfd"
    config_path.unlink()
    location = dust_maps.locate_map("sfd", tmp_path / "empty-option")
    assert location.directory == home_maps / "sfd"
    assert [label for label, _folder in location.searched] == ["--dust-dir", "TSMAKER_HOME"]


def test_locate_map_accepts_files_directly_in_the_folder_and_needs_all_files(
    tmp_path: Path,
) -> None:
    fx.write_csfd(tmp_path / "flat")
    location = dust_maps.locate_map("csfd", tmp_path / "flat")
    assert location.found
    assert location.directory == tmp_path / "flat"

    (tmp_path / "flat" / "mask.fits").unlink()
    location = dust_maps.locate_map("csfd", tmp_path / "flat")
    assert not location.found
    assert location.directory is None
    assert location.size_bytes == 0
    assert location.files == (
        tmp_path / "flat" / "csfd" / "csfd_ebv.fits",
        tmp_path / "flat" / "csfd" / "mask.fits",
    )


def test_dust_status_lists_every_map(tmp_path: Path) -> None:
    written = fx.write_map("planck-gnilc", tmp_path / "maps" / "planck")
    fx.write_sfd(tmp_path / "maps" / "sfd")

    status = dust_maps.dust_status(tmp_path / "maps")

    assert [location.name for location in status] == list(dust_maps.DUST_MAP_NAMES)
    found = {location.name: location.found for location in status}
    assert found == {"sfd": True, "csfd": False, "planck": False, "planck-gnilc": True}
    gnilc = status[3]
    assert gnilc.files == tuple(written)
    assert gnilc.size_bytes == sum(path.stat().st_size for path in written)
    for location in status:
        assert tuple(path.name for path in location.files) == MAP_FILES[location.name]
        assert location.searched[0] == ("--dust-dir", tmp_path / "maps")


def test_require_map_error_is_one_line_with_files_folders_and_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_DUSTMAPS_DIR, str(tmp_path / "env"))
    with pytest.raises(DustMapError) as caught:
        require_map("sfd", tmp_path / "option")
    message = str(caught.value)
    assert "\n" not in message
    for needed in (
        "'sfd'",
        "SFD_dust_4096_ngp.fits",
        "SFD_dust_4096_sgp.fits",
        str(tmp_path / "option"),
        str(tmp_path / "env"),
        str(tmp_path / "tsmaker-home" / "dustmaps"),
        "`tsmaker dust fetch sfd`",
        "--dust-dir",
        "TSMAKER_DUSTMAPS_DIR",
    ):
        assert needed in message


@pytest.mark.parametrize(
    "call",
    [
        lambda: dust_maps.locate_map("sfd98"),
        lambda: require_map("sfd98"),
        lambda: dust_fetch.fetch_map("sfd98", base_url="http://127.0.0.1:1"),
    ],
)
def test_unknown_map_name_lists_valid_names(call) -> None:
    with pytest.raises(InputError) as caught:
        call()
    assert str(caught.value) == (
        "unknown dust map 'sfd98'; choose one of: sfd, csfd, planck, planck-gnilc"
    )


# ---------------------------------------------------------------- fetching


class _CountingHandler(SimpleHTTPRequestHandler):
    requested: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def map_server(tmp_path: Path) -> Iterator[tuple[str, list[str], Path]]:
    """A real HTTP server on 127.0.0.1 serving tiny maps flat under /maps/."""
    served = tmp_path / "served"
    for name in dust_maps.DUST_MAP_NAMES:
        fx.write_map(name, served / "maps")
    (served / "maps" / "not-fits.fits").write_text("<html>mirror error page</html>")
    requested: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"requested": requested})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/maps/", requested, served / "maps"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _site_packages_snapshot() -> dict[str, tuple[int, int]]:
    import dustmaps

    package = Path(dustmaps.__file__).parent
    library = Path(sysconfig.get_paths()["purelib"])
    snapshot = {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in package.rglob("*")
        if "__pycache__" not in path.parts
    }
    snapshot.update({str(path): (0, 0) for path in library.iterdir()})
    return snapshot


@pytest.mark.slow
@pytest.mark.parametrize("name", dust_maps.DUST_MAP_NAMES)
def test_fetch_map_downloads_into_dustmaps_layout_and_is_usable(
    name: str, tmp_path: Path, map_server: tuple[str, list[str], Path]
) -> None:
    base_url, requested, served = map_server
    before = _site_packages_snapshot()
    progress_calls: list[tuple[int, int | None]] = []

    location = dust_fetch.fetch_map(
        name,
        tmp_path / "fetched",
        base_url=base_url,
        progress=lambda done, total: progress_calls.append((done, total)),
    )

    folder = tmp_path / "fetched" / MAP_SUBDIRS[name]
    assert location.found
    assert location.directory == folder
    assert location.files == tuple(folder / file_name for file_name in MAP_FILES[name])
    assert sorted(p.name for p in folder.iterdir()) == sorted(MAP_FILES[name])
    for path in location.files:
        assert path.read_bytes() == (served / path.name).read_bytes()
    assert requested == [f"/maps/{file_name}" for file_name in MAP_FILES[name]]
    last_file_size = (served / MAP_FILES[name][-1]).stat().st_size
    assert progress_calls[-1] == (last_file_size, last_file_size)
    assert (0, last_file_size) in progress_calls
    assert _site_packages_snapshot() == before

    ra_deg, dec_deg, l_deg, b_deg = _test_points(count=50)
    np.testing.assert_allclose(
        ebv_at(name, ra_deg, dec_deg, require_map(name, tmp_path / "fetched")),
        fx.expected_ebv(name, l_deg, b_deg),
        rtol=1e-6,
    )

    dust_fetch.fetch_map(name, tmp_path / "fetched", base_url=base_url)
    assert len(requested) == len(MAP_FILES[name])  # valid files already there are kept


@pytest.mark.slow
def test_fetch_map_defaults_to_the_tsmaker_home(
    tmp_path: Path, map_server: tuple[str, list[str], Path]
) -> None:
    base_url, _requested, _served = map_server
    location = dust_fetch.fetch_map("planck", base_url=base_url.rstrip("/"))
    assert location.directory == tmp_path / "tsmaker-home" / "dustmaps" / "planck"
    assert location.searched == (("TSMAKER_HOME", tmp_path / "tsmaker-home" / "dustmaps"),)
    assert dust_maps.locate_map("planck") == location


@pytest.mark.slow
def test_fetch_map_replaces_a_broken_existing_file(
    tmp_path: Path, map_server: tuple[str, list[str], Path]
) -> None:
    base_url, requested, served = map_server
    broken = tmp_path / "fetched" / "planck" / fx.PLANCK_FILE
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"truncated")
    dust_fetch.fetch_map("planck", tmp_path / "fetched", base_url=base_url)
    assert requested == [f"/maps/{fx.PLANCK_FILE}"]
    assert broken.read_bytes() == (served / fx.PLANCK_FILE).read_bytes()


@pytest.mark.slow
def test_fetch_map_rejects_a_file_that_is_not_the_map(
    tmp_path: Path, map_server: tuple[str, list[str], Path]
) -> None:
    base_url, _requested, served = map_server
    shutil.copy(served / "not-fits.fits", served / fx.GNILC_FILE)
    with pytest.raises(DustMapError) as caught:
        dust_fetch.fetch_map("planck-gnilc", tmp_path / "fetched", base_url=base_url)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{base_url}{fx.GNILC_FILE}" in message
    assert "not a readable FITS map" in message
    assert list((tmp_path / "fetched" / "planck").iterdir()) == []


@pytest.mark.slow
def test_fetch_map_http_error_is_one_line(
    tmp_path: Path, map_server: tuple[str, list[str], Path]
) -> None:
    base_url, _requested, served = map_server
    (served / "mask.fits").unlink()
    with pytest.raises(DustMapError) as caught:
        dust_fetch.fetch_map("csfd", tmp_path / "fetched", base_url=base_url)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{base_url}mask.fits" in message and "404" in message
    assert sorted(p.name for p in (tmp_path / "fetched" / "csfd").iterdir()) == ["csfd_ebv.fits"]


@pytest.mark.slow
def test_fetch_map_from_a_closed_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/mirror"

    with pytest.raises(DustMapError) as caught:
        dust_fetch.fetch_map("sfd", tmp_path / "fetched", base_url=base_url)

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"could not download {base_url}/SFD_dust_4096_ngp.fits: Connection refused;"
    )
    assert str(tmp_path / "fetched" / "sfd") in message
    assert "TSMAKER_DUSTMAPS_DIR" in message
    assert list((tmp_path / "fetched" / "sfd").iterdir()) == []


@pytest.mark.slow
def test_fetch_map_refuses_site_packages(map_server: tuple[str, list[str], Path]) -> None:
    base_url, requested, _served = map_server
    target = Path(sysconfig.get_paths()["purelib"]) / "dustmaps" / "data"
    before = _site_packages_snapshot()
    with pytest.raises(InputError, match="refusing to download"):
        dust_fetch.fetch_map("planck", target, base_url=base_url)
    assert requested == []
    assert _site_packages_snapshot() == before


def test_existing_dustmaps_config_is_read_not_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_user_dirs: Path, maps_root: Path
) -> None:
    config_path = _write_dustmaps_config(isolated_user_dirs, str(maps_root))
    monkeypatch.setenv("DUSTMAPS_CONFIG_FNAME", str(config_path))
    content = config_path.read_bytes()
    modified_ns = config_path.stat().st_mtime_ns

    location = require_map("sfd")
    assert location.directory == maps_root / "sfd"
    assert location.searched[0] == ("dustmaps config", maps_root)
    ra_deg, dec_deg, l_deg, b_deg = _test_points(count=20)
    np.testing.assert_array_equal(
        ebv_at("sfd", ra_deg, dec_deg, location), fx.expected_ebv("sfd", l_deg, b_deg)
    )

    assert config_path.read_bytes() == content
    assert config_path.stat().st_mtime_ns == modified_ns


@pytest.mark.slow
def test_cli_dust_status_and_catalog_coefficients(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tsmaker.cli.app import app

    fx.write_sfd(tmp_path / "maps" / "sfd")
    runner = CliRunner()
    result = runner.invoke(app, ["dust", "status", "--dust-dir", str(tmp_path / "maps"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["map"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"sfd", "csfd", "planck", "planck-gnilc"}
    assert rows["sfd"]["found"] is True
    assert rows["sfd"]["directory"] == str(tmp_path / "maps" / "sfd")
    assert rows["sfd"]["searched"][0] == f"--dust-dir: {tmp_path / 'maps'}"
    assert rows["planck"]["found"] is False and rows["planck"]["size_mb"] == 0.0
    table = runner.invoke(app, ["dust", "status", "--dust-dir", str(tmp_path / "maps")])
    assert table.exit_code == 0 and "sfd\tyes" in table.stdout
    shown = json.loads(runner.invoke(app, ["catalogs", "show", "dp1", "--json"]).stdout)
    assert shown["extinction_coeffs"] == {"u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06,
                                          "z": 1.58, "y": 1.31}
