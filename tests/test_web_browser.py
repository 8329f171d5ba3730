"""Real Chromium (Debian's, via Playwright) on a real `khlang serve` with the demo catalogue."""
import shutil

import pytest
from conftest import ROOT, LiveServer, khlang_cli

pytestmark = pytest.mark.browser
SHOTS = ROOT / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("demo"))
    khlang_cli("seed-demo", "--force", env=srv.env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--disable-background-networking", "--disable-component-update",
                                    "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A page that records console errors and failed requests; the test fails on any."""
    pg = browser.new_page(viewport={"width": 1200, "height": 900}, locale="th-TH")
    problems = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    pg.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    yield pg
    pg.close()
    assert problems == []


def shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_search_in_thai_and_click_through_to_a_dataset(demo_site, page):
    page.goto(demo_site.url + "/")
    assert "synthetic" in page.inner_text(".synthetic")
    shot(page, "home-th")
    page.fill("#q", "โรงเรียน")
    page.click("button[type=submit]")
    page.wait_for_url("**/dataset?q=*")
    count_text = page.inner_text(".count")
    assert "พบ" in count_text and not count_text.startswith("พบ 0")
    shot(page, "search-th")
    first = page.locator("ol.results li a").first
    title = first.inner_text()
    assert "โรงเรียน" in title
    first.click()
    page.wait_for_load_state()
    assert page.inner_text("h1") == title
    shot(page, "dataset-th")
    # the uploaded CSV is downloadable from the page
    href = page.locator("main ul li a").first.get_attribute("href")
    resp = page.request.get(href)
    assert resp.ok and "ปีงบประมาณ" in resp.body().decode("utf-8-sig")


def test_private_demo_datasets_do_not_show_for_anonymous_visitors(demo_site, page):
    admin = demo_site.admin()
    private = admin.action.package_search(fq="capacity:private", include_private=True, rows=1)["results"][0]
    page.goto(demo_site.url + "/dataset?q=" + private["title"][:12])
    assert private["title"] not in page.inner_text("main")
    resp = page.request.get(f"{demo_site.url}/dataset/{private['name']}")
    assert resp.status == 404


def test_spending_explorer_pages_render_charts_and_drill_down(demo_site, page):
    page.goto(demo_site.url + "/spending")
    assert "synthetic" in page.inner_text(".synthetic")
    page.wait_for_selector("div.chart .main-svg")
    assert page.locator("div.chart .main-svg").count() >= 2
    shot(page, "spending-overview-th")
    page.goto(demo_site.url + "/spending?lang=en")
    page.wait_for_selector("div.chart .main-svg")
    assert "Where do taxes go" in page.inner_text("h1")
    shot(page, "spending-overview-en")
    page.goto(demo_site.url + "/spending/budget?year=2566")
    page.wait_for_selector("div.chart .main-svg")
    first = page.locator("section.cube-table tbody tr td a").first
    ministry = first.inner_text()
    first.click()
    page.wait_for_url("**ministry=*")
    page.wait_for_selector("div.chart .main-svg")
    assert ministry in page.inner_text(".crumbs")
    shot(page, "spending-budget-drilldown-th")
    page.goto(demo_site.url + "/spending/map")
    page.wait_for_selector("div.chart .main-svg")
    shot(page, "spending-map-th")


def test_procurement_search_to_project_and_contractor(demo_site, page):
    page.goto(demo_site.url + "/spending/procurement")
    page.fill("input[name=q]", "ถนน")
    page.select_option("select[name=method_group]", "เฉพาะเจาะจง")
    page.click("form.search button")
    page.wait_for_url("**q=*")
    rows = page.locator("section.cube-table tbody tr")
    assert rows.count() > 0
    assert all("ถนน" in rows.nth(i).inner_text() for i in range(min(5, rows.count())))
    csv_link = page.locator("p.downloads a", has_text="CSV").first.get_attribute("href")
    assert "q=%E0%B8%96" in csv_link and "facts.csv" in csv_link
    shot(page, "spending-procurement-th")
    rows.first.locator("a").first.click()
    page.wait_for_url("**/spending/project/*")
    shot(page, "spending-project-th")
    page.locator("section.cube-table tbody a").first.click()
    page.wait_for_url("**/spending/contractor/*")
    page.wait_for_selector("div.chart .main-svg")
    shot(page, "spending-contractor-th")
