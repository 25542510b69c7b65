"""The page's CSV upload in Chromium: the server reads the file (``POST /api/datasets/csv``), the
page lists its columns and a preview, the chosen target goes to the session as a ``csv`` data set;
header text is user text and shows as text everywhere (promise 12), a malformed file shows the
server's message naming the row and the column (promise 13)."""

from __future__ import annotations

from pathlib import Path

from browsertools import OpenTab, Tab, poll
from pagetools import ready, wait_config
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

EVIL = "<img src=x onerror=window.__xss=1>"
SPECIES = ("setosa", "versicolor", "virginica")
IRIS = f'"{EVIL}","petal, cm",width,species\n' + "".join(
    f"{5 + i % 7 * 0.1:.1f},{1 + i % 5},{i % 3 * 0.5},{SPECIES[i % 3]}\n" for i in range(30)
)
NUMBERS = "a,b,y\n" + "".join(f"{i * 0.5},{i % 4},{i % 2}\n" for i in range(20))


def upload(tab: Tab, path: Path, status: int) -> None:
    """Choose ``path`` in the file input; the page sends it to the server's CSV route."""
    for attempt in range(3):
        try:
            with tab.page.expect_response("**/api/datasets/csv", timeout=5000) as response:
                tab.page.locator("#csv-upload").set_input_files(str(path))
            break
        except PlaywrightTimeoutError:
            # the stream's first frame redraws the data panel, this input included, just after
            # load: a file set on the old input in that instant goes nowhere (a person's file
            # dialog takes longer than that); choose it again on the new one
            if attempt == 2:
                raise
    assert response.value.request.method == "POST"
    assert response.value.status == status, response.value.text()


def no_injected_markup(tab: Tab) -> None:
    page = tab.page
    assert page.evaluate("() => window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0


def test_csv_upload_goes_through_the_server_and_header_text_stays_text(
    open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    iris = tmp_path / "iris.csv"
    iris.write_text(IRIS)
    upload(tab, iris, 200)

    expect(page.locator("#csv-target-box")).to_be_visible()
    expect(page.locator("#csv-columns")).to_contain_text("30 rows")
    expect(page.locator("#csv-columns")).to_contain_text(EVIL)  # as text
    # only the text column can be the target; the preview shows the header and first rows
    options = page.locator("#csv-target option")
    expect(options).to_have_count(1)
    assert options.first.get_attribute("value") == "species"
    headers = page.locator("#csv-preview th")
    expect(headers).to_have_text([EVIL, "petal, cm", "width", "species"])
    expect(page.locator("#csv-preview tr")).to_have_count(6)
    no_injected_markup(tab)

    page.locator("#csv-create").click()
    config = wait_config(
        tab, lambda c: c["dataset"].get("target_name") == "species", "the csv data set"
    )
    assert config["dataset"]["name"] == "inline"
    assert config["dataset"]["input_names"] == [EVIL, "petal, cm", "width"]
    assert config["loss"]["name"] == "ce" and config["output_activation"] == "softmax"
    # the network drawing labels its inputs with the header text, as text (3 inputs: 2-column
    # data is drawn as the plane's x1, x2)
    labels = page.locator("svg#network text.feat-label")
    expect(labels).to_have_text([EVIL, "petal, cm", "width"])
    no_injected_markup(tab)

    # a numeric file: any column can be the target; a regression target gets a regression loss
    numbers = tmp_path / "numbers.csv"
    numbers.write_text(NUMBERS)
    upload(tab, numbers, 200)
    expect(page.locator("#csv-target option")).to_have_count(3)
    expect(page.locator("#csv-target")).to_have_value("y")
    page.locator("#csv-target").select_option("a")
    page.locator("#csv-create").click()
    config = wait_config(tab, lambda c: c["dataset"].get("target_name") == "a", "target a")
    assert config["dataset"]["input_names"] == ["b", "y"]
    assert config["loss"]["name"] == "mse" and config["output_activation"] == "linear"


def test_malformed_csv_shows_the_row_and_column(open_tab: OpenTab, tmp_path: Path) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,abc,1\n")
    upload(tab, bad, 422)
    note = page.locator("#csv-columns")
    expect(note).to_have_class("hint error")
    expect(note).to_contain_text("row 3, column 'b': 'abc' is not a number")
    expect(page.locator("#csv-target-box")).to_be_hidden()
    # Chromium logs every 4xx response as a console error; this one is the expected answer.
    # The log reaches us on its own schedule, so wait for it before leaving it out (on a busy
    # machine it came after the filter and failed the tab's final check)
    poll(lambda: any("status of 422" in m for m in tab.console_errors), what="the 422 logged")
    tab.console_errors[:] = [m for m in tab.console_errors if "status of 422" not in m]
