"""The pages in a real headless Chromium (Debian's, driven by Selenium) against a real server.

Fill the form, see the flux types follow the object catalog and an invalid radius refused
beside its field with the command line's message, submit, watch the product reach done,
download it; upload a redshift catalog; a cross-site form is refused; the API docs work
offline. A screenshot of each page is saved under the test's tmp dir (and into
``$TSMAKER_SCREENSHOTS_DIR`` when set: that is how the README's images are made).
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import DP1_COLLECTION, SAMPLES
from web_helpers import (
    CHROME_FLAGS,
    CHROMEDRIVER,
    CHROMIUM,
    browser_or_skip,
    copy_demo,
    server_environment,
    start_server,
    wait_for_status,
)

from tsmaker.registry import Registry

pytestmark = pytest.mark.slow  # a server, its runs and a browser

TWODF = SAMPLES / "2dflens_final_release_random_sample.parquet"


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_dir):
    home = copy_demo(demo_dir, tmp_path_factory.mktemp("web_browser") / "home")
    with Registry(home / "registry.sqlite") as registry:
        registry.add_catalog(kind="object", name="dp1", location=str(DP1_COLLECTION),
                             profile="dp1")
    server = start_server(home)
    yield server
    assert server.stop() == 0, server.log()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver, service = browser_or_skip()
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)  # both paths given: Selenium Manager never runs
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def wait(driver, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def by_id(driver, element_id):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def options_of(driver, element_id):
    from selenium.webdriver.support.ui import Select

    return [option.get_attribute("value") for option in Select(by_id(driver, element_id)).options]


def choose(driver, element_id, value):
    from selenium.webdriver.support.ui import Select

    Select(by_id(driver, element_id)).select_by_value(value)


def type_into(driver, element_id, text):
    field = by_id(driver, element_id)
    field.clear()
    field.send_keys(text)


def screenshot(driver, tmp_path: Path, name: str) -> Path:
    """Save the whole page as PNG under the test's tmp dir (and $TSMAKER_SCREENSHOTS_DIR)."""
    height, chrome = driver.execute_script(
        "return [document.documentElement.scrollHeight, outerHeight - innerHeight]")
    driver.set_window_size(1280, min(int(height), 4000) + int(chrome))
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("TSMAKER_SCREENSHOTS_DIR")
    if target:
        shutil.copy(path, Path(target) / path.name)
    return path


def cli_error(server, *args: str) -> str:
    """The message of the `Error:` line the command line gives for these arguments."""
    finished = subprocess.run([sys.executable, "-m", "tsmaker", *args],
                              env=server_environment(server.home), capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 1
    return finished.stderr.strip().splitlines()[-1].removeprefix("Error: ")


def test_the_form_makes_a_training_set_to_download(server, browser, tmp_path):
    from selenium.webdriver.support import expected_conditions as ec

    from tsmaker.manage.catalogs import flux_types

    with Registry(server.home / "registry.sqlite") as registry:
        dp1_types = list(flux_types("dp1", registry))
    browser.get(server.url + "/runs/new")
    assert browser.title == "New training set · tsmaker"
    # The registered release is chosen first, its flux types offered (from the server).
    assert by_id(browser, "object_catalog").get_attribute("value") == "dp1"
    assert options_of(browser, "flux_type") == ["", *dp1_types] and len(dp1_types) > 20
    for catalog, offered in (("demo", ["cModel", "gaap1p0", "psf"]), ("dp1", dp1_types),
                             ("demo", ["cModel", "gaap1p0", "psf"])):
        choose(browser, "object_catalog", catalog)
        wait(browser, lambda d, c=catalog: by_id(d, "flux_type").get_attribute(
            "data-loaded-for") == c)
        assert options_of(browser, "flux_type") == ["", *offered]
    type_into(browser, "name", "browser_demo")
    type_into(browser, "description", "made in a browser")
    choose(browser, "flux_type", "gaap1p0")
    screenshot(browser, tmp_path, "form")

    type_into(browser, "radius_arcsec", "7")
    by_id(browser, "submit").click()
    error = wait(browser, ec.visibility_of_element_located(("id", "radius_arcsec-error")))
    assert error.text == cli_error(server, "run", "--name", "x", "--redshift", "demo-specz",
                                   "--object", "demo", "--radius", "7")
    assert by_id(browser, "radius_arcsec").get_attribute("aria-invalid") == "true"
    assert by_id(browser, "name").get_attribute("value") == "browser_demo"
    assert by_id(browser, "flux_type").get_attribute("value") == "gaap1p0"
    with server.client() as client:
        assert client.get("/api/products").json() == []
    screenshot(browser, tmp_path, "form-error")

    type_into(browser, "radius_arcsec", "1")
    type_into(browser, "n_neighbors", "2")
    by_id(browser, "submit").click()
    wait(browser, ec.url_matches(r"/products/\d+$"))
    product_id = int(browser.current_url.rsplit("/", 1)[1])
    wait(browser, ec.presence_of_element_located(("id", "files")), timeout=180)
    assert by_id(browser, "product-status").text == "done"
    wait(browser, lambda d: d.execute_script(
        "const i = document.getElementById('plot'); return i.complete && i.naturalWidth > 0"))
    screenshot(browser, tmp_path, "product")

    with Registry(server.home / "registry.sqlite") as registry:
        product = registry.get_product(product_id)
    data_file = Path(product.files[0])
    assert product.parameters["n_neighbors"] == 2 and product.description == "made in a browser"
    browser.find_element("link text", data_file.name).click()
    downloaded = browser.downloads / data_file.name
    deadline = time.monotonic() + 60
    while not downloaded.exists():
        assert time.monotonic() < deadline, list(browser.downloads.iterdir())
        time.sleep(0.1)
    pd.testing.assert_frame_equal(pd.read_parquet(downloaded), pd.read_parquet(data_file))

    browser.get(server.url + "/products")
    row = by_id(browser, f"product-{product_id}")
    assert "browser_demo" in row.text and "done" in row.text
    screenshot(browser, tmp_path, "products")


def test_the_products_list_follows_a_running_product_live(server, browser, tmp_path,
                                                          big_specz):
    import re

    with server.client() as client:
        big = client.post("/api/runs", json={
            "name": "big", "redshift_catalog": str(big_specz),
            "object_catalog": "demo", "radius_arcsec": 5.0, "n_neighbors": 5}).json()
        wait_for_status(client, big["id"], ("running",))
    browser.get(server.url + "/products")
    browser.execute_script("window.notReloaded = true")
    row = f"#product-{big['id']} [data-field=progress]"

    def partitions_done(driver):
        found = re.search(r"(\d+)/28 partitions", driver.find_element("css selector", row).text)
        return int(found[1]) if found else None

    first = wait(browser, partitions_done)
    screenshot(browser, tmp_path, "products-running")
    wait(browser, lambda d: (partitions_done(d) or 0) > first)  # updated in place
    with server.client() as client:
        client.post(f"/api/products/{big['id']}/cancel")  # 409 if it just finished
        final = wait_for_status(client, big["id"], ("cancelled", "done"))["status"]
    status = f"#product-{big['id']} [data-field=status]"
    wait(browser, lambda d: d.find_element("css selector", status).text == final)
    assert browser.execute_script("return window.notReloaded") is True


def test_the_products_list_shows_a_run_made_elsewhere(server, browser):
    browser.get(server.url + "/products")
    browser.execute_script("window.sameList = true")
    with server.client() as client:  # as from a notebook, or a colleague's browser
        made = client.post("/api/runs", json={
            "name": "elsewhere", "redshift_catalog": "demo-specz", "object_catalog": "demo"}
        ).json()
    row = f"#product-{made['id']}"
    wait(browser, lambda d: d.find_elements("css selector", row), timeout=30)
    assert browser.execute_script("return window.sameList") is None  # the list was reloaded
    status = f"{row} [data-field=status]"
    wait(browser, lambda d: d.find_element("css selector", status).text == "done")


def test_a_redshift_catalog_is_uploaded_confirmed_and_registered(server, browser, tmp_path):
    from selenium.webdriver.support import expected_conditions as ec

    browser.get(server.url + "/catalogs")
    by_id(browser, "file").send_keys(str(TWODF))
    by_id(browser, "upload").click()
    wait(browser, ec.presence_of_element_located(("id", "confirm-form")))
    assert "1000 rows" in by_id(browser, "upload-summary").text
    assert [by_id(browser, role).get_attribute("value")
            for role in ("ra", "dec", "z", "z_err", "z_flag", "id")] == [
        "RA", "Dec", "z", "", "qual", "unique_id"]
    screenshot(browser, tmp_path, "upload-confirm")
    type_into(browser, "name", "twodf")
    by_id(browser, "register").click()
    wait(browser, ec.text_to_be_present_in_element(("id", "notice"), "Registered catalog"))
    assert "2dflens" not in by_id(browser, "catalog-twodf").text  # a name the server chose
    screenshot(browser, tmp_path, "catalogs")
    with Registry(server.home / "registry.sqlite") as registry:
        assert registry.get_catalog("twodf").columns["z_flag"] == "qual"


def test_a_form_posted_from_another_site_is_refused(server, browser):
    other_origin = server.url.replace("127.0.0.1", "localhost")
    browser.get(other_origin + "/products")
    browser.execute_script("""
        const form = document.createElement('form');
        form.method = 'post'; form.action = arguments[0] + '/runs';
        for (const [name, value] of [['name', 'x'], ['redshift_catalog', 'demo-specz'],
                                     ['object_catalog', 'demo']]) {
          const input = document.createElement('input');
          input.name = name; input.value = value; form.append(input);
        }
        document.body.append(form); form.submit();""", server.url)
    wait(browser, lambda d: "Forbidden" in d.find_element("tag name", "body").text)
    with server.client() as client:
        assert "x" not in [product["name"] for product in client.get("/api/products").json()]


def test_the_api_docs_work_offline(server, browser, tmp_path):
    from selenium.webdriver.support import expected_conditions as ec

    browser.get(server.url + "/docs")
    wait(browser, ec.presence_of_element_located(("css selector", ".opblock")))
    paths = [element.text for element in
             browser.find_elements("css selector", ".opblock-summary-path")]
    assert "/api/runs" in paths and "/api/products/{product_id}/download" in paths
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert loaded and all(url.startswith(server.url) for url in loaded), loaded
    screenshot(browser, tmp_path, "docs")
