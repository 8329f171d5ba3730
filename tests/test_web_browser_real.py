"""Real Chromium on the default (real-data) demo: a citizen picks a fiscal year, drills down the budget to
a project and opens the tax receipt, in Thai and in English."""
import pytest
from conftest import LiveServer, khlang_cli
from test_web_browser import browser, new_page, shot  # noqa: F401 - the browser fixture is shared

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("real-demo"))
    khlang_cli("seed-demo", "--force", env=srv.env)
    yield srv
    srv.stop()


@pytest.mark.parametrize("lang", ["th", "en"])
def test_a_citizen_picks_a_year_drills_to_a_project_and_opens_the_tax_receipt(real_site, browser, lang):  # noqa: F811
    problems = []
    page = new_page(browser, problems)
    page.goto(f"{real_site.url}/spending?lang={lang}")
    assert page.locator("#year-select").input_value() == "2565"
    page.select_option("#year-select", "2560")
    page.click(".year-control button")
    page.wait_for_url("**year=2560**")
    assert page.locator("#year-select").input_value() == "2560"
    assert page.locator(".chart .main-svg").count() >= 2          # the charts drew
    shot(page, f"real-spending-{lang}")
    # Ministry -> agency -> plan -> project, each by clicking the first row of the table.
    page.goto(f"{real_site.url}/spending/budget?year=2560&lang={lang}")
    for level in ("ministry", "agency", "plan"):
        first = page.locator(".cube-table tbody tr td a").first
        first.click()
        page.wait_for_url(f"**{level}=**")
    header = page.locator(".cube-table thead th").first.inner_text()
    assert header in ("ผลผลิต/โครงการ", "Output/project")
    assert page.locator(".cube-table tbody tr").count() >= 1
    assert page.locator(".provenance a").count() >= 1
    shot(page, f"real-budget-project-{lang}")
    page.goto(f"{real_site.url}/spending/tax?lang={lang}")
    page.fill("#income", "600000")
    page.click(".tax-form button")
    page.wait_for_url("**income=600000**")
    assert page.locator("#tax-total").inner_text().startswith("21,500.00")
    assert page.locator(".cube-table tbody tr").count() >= 10
    shot(page, f"real-tax-receipt-{lang}")
    page.close()
    assert problems == []
