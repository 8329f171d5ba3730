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


A11Y_PAGES = ["/", "/dataset", "/dataset?q=งบประมาณ", "/dataset/{dataset}", "/dataset/{dataset}/resource/{resource}",
              "/organization", "/organization/{org}", "/group", "/spending", "/spending/budget", "/spending/procurement",
              "/spending/province", "/spending/tax", "/spending/methodology", "/datarequest", "/datarequest/new",
              "/api/docs", "/user/login", "/user/register", "/user/reset"]


def test_main_pages_have_no_serious_accessibility_violations_on_phone_and_desktop(real_site, browser):  # noqa: F811
    """axe-core in Chromium on every main page, in Thai and English, at a phone's and a desktop's width."""
    from axe_playwright_python.sync_playwright import Axe

    import requests

    table = next(r for name in requests.get(f"{real_site.url}/api/3/action/package_list", timeout=30).json()["result"]
                 for r in requests.get(f"{real_site.url}/api/3/action/package_show", params={"id": name},
                                       timeout=30).json()["result"]["resources"] if r["datastore_active"])
    pkg = requests.get(f"{real_site.url}/api/3/action/package_show", params={"id": table["package_id"]},
                       timeout=30).json()["result"]
    values = {"dataset": pkg["name"], "resource": table["id"], "org": pkg["organization"]["name"]}
    axe, found = Axe(), []
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        for lang in ("th", "en"):
            for path in A11Y_PAGES:
                url = real_site.url + path.format(**values)
                page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
                for v in axe.run(page).response["violations"]:
                    if v["impact"] in ("serious", "critical"):
                        found.append(f"{width}px {lang} {path}: {v['id']} ({v['impact']}) "
                                     f"{[n['target'] for n in v['nodes']][:3]}")
        context.close()
    assert found == []


@pytest.mark.parametrize("typed, wanted, tier", [
    ("chiang rai", "เชียงราย", "อักษรโรมัน"),
    ("ผูประจำรถ", "ผู้ประจำรถ", "ไม่นับวรรณยุกต์"),
])
def test_a_romanised_or_tone_less_search_lands_on_the_thai_dataset(real_site, browser, typed, wanted, tier):  # noqa: F811
    problems = []
    page = new_page(browser, problems)
    page.goto(real_site.url + "/dataset")
    page.fill("#q", typed)
    page.press("#q", "Enter")
    page.wait_for_url("**/dataset?q=*")
    first = page.locator("ol.results li").first
    assert "ค้นหาตามที่พิมพ์" in page.inner_text("#widened")
    assert tier in first.inner_text()
    title = first.locator("a").first.inner_text()
    assert wanted in title
    first.locator("a").first.click()
    page.wait_for_load_state()
    assert page.inner_text("h1") == title
    page.close()
    assert problems == []


def test_a_mistyped_word_says_what_was_searched_and_links_to_the_search_as_typed(real_site, browser):  # noqa: F811
    problems = []
    page = new_page(browser, problems)
    page.goto(real_site.url + "/dataset?q=" + "ปิโตรเลียมม")
    assert "ผลลัพธ์สำหรับ “ปิโตรเลียม”" in page.inner_text("#widened")
    shot(page, "search-corrected-th")
    page.click("#widened a")
    page.wait_for_url("**exact=1*")
    assert page.inner_text(".count").startswith("พบ 0") and page.locator("#widened").count() == 0
    page.close()
    assert problems == []
