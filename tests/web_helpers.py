"""Helpers of the web tests: a real `tsmaker serve` process, its home, a headless browser."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

START_TIMEOUT_SECONDS = 60
#: Spec-z of the runs the tests stop while they run: ~10 s of matching against the demo
#: with a 5 arcsec radius and 5 neighbours, several progress updates.
BIG_SPECZ_ROWS = 2_000_000
RUN_TIMEOUT_SECONDS = 180
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Flags that work as root without a network: --host-resolver-rules stops Chromium's own
#: lookups of Google hosts (127.0.0.1 must be excluded, or even it fails to resolve).
CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--window-size=1280,1000",
)


def field_error(page: str, field: str) -> str | None:
    """The message a page shows beside a form field (``id="FIELD-error"``), if any."""
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</', page, flags=re.DOTALL)
    return html.unescape(found[1]).strip() if found else None


def server_environment(home: Path) -> dict[str, str]:
    environment = dict(os.environ)
    for name in ("TSMAKER_DUSTMAPS_DIR", "TSMAKER_SCHEDULER", "TSMAKER_DEBUG", "TSMAKER_TOKEN"):
        environment.pop(name, None)
    environment["TSMAKER_HOME"] = str(home)
    return environment


@dataclass
class Server:
    """A `tsmaker serve` process on 127.0.0.1 and its log."""

    process: subprocess.Popen
    url: str
    log_path: Path
    home: Path

    def client(self, **options) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **options)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal the server and wait for it; its exit code."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def start_server(home: Path, *args: str) -> Server:
    """Start ``tsmaker serve --port 0 ARGS`` and wait until it answers."""
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / f"serve-{time.monotonic_ns()}.log"
    with log_path.open("w") as log:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            [sys.executable, "-m", "tsmaker", "serve", "--port", "0", *args],
            env=server_environment(home), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tsmaker serve exited {process.returncode}:\n"
                               + log_path.read_text())
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", log_path.read_text())
        if found and url is None:
            url = f"http://127.0.0.1:{found[1]}"
        if url is not None:
            try:
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    return Server(process, url, log_path, home)
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("tsmaker serve did not answer:\n" + log_path.read_text())


def wait_for_status(client: httpx.Client, product_id: int, statuses: tuple[str, ...],
                    timeout: float = RUN_TIMEOUT_SECONDS) -> dict:
    """Poll a product until its status is one of ``statuses``; its record."""
    deadline = time.monotonic() + timeout
    while True:
        record = client.get(f"/api/products/{product_id}").json()
        if record["status"] in statuses:
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"product {product_id} still {record['status']}: {record}")
        time.sleep(0.1)


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still running"
        time.sleep(0.05)


def copy_demo(demo_dir: Path, home: Path) -> Path:
    """A tsmaker home holding the demo catalogs (made once per session, copied)."""
    shutil.copytree(demo_dir, home / "demo")
    return home


def write_big_specz(demo_dir: Path, path: Path, rows: int = BIG_SPECZ_ROWS) -> Path:
    """Many spec-z scattered 2 arcsec around the demo's: a run slow enough to stop."""
    specz = pd.read_parquet(demo_dir / "demo_specz.parquet")
    rng = np.random.default_rng(5)
    picked = rng.integers(0, len(specz), rows)
    pd.DataFrame({
        "specz_id": np.arange(rows, dtype=np.int64),
        "ra": specz["ra"].to_numpy()[picked] + rng.normal(0, 2 / 3600, rows),
        "dec": specz["dec"].to_numpy()[picked] + rng.normal(0, 2 / 3600, rows),
        "z": specz["z"].to_numpy()[picked],
    }).to_parquet(path, index=False)
    return path


def browser_or_skip():
    """A headless Chromium driven by Selenium; skipped (failed in CI) without Chromium."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        reason = (f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)}"
                  " missing): apt-get install -y chromium chromium-driver")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    return webdriver, Service
