"""Real Chromium (Debian's, via Playwright) on a real `khlang serve` with the demo catalogue."""
import shutil

import pytest
from conftest import REAL_DATA, ROOT, LiveServer, khlang_cli

pytestmark = pytest.mark.browser
SHOTS = ROOT / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    geo = REAL_DATA / "thai-provinces-geo" / "thailand-provinces.apisit.geojson.gz"
    srv = LiveServer(tmp_path_factory.mktemp("demo"), env={"KHLANG_PROVINCES_GEOJSON": str(geo)})
    khlang_cli("seed-demo", "--force", "--synthetic", env=srv.env)
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
    problems = []
    pg = new_page(browser, problems)
    yield pg
    pg.close()
    assert problems == []


def new_page(browser, problems):
    pg = browser.new_page(viewport={"width": 1200, "height": 900}, locale="th-TH")
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    # The browser drops its own favicon fetch when a test navigates on at once; that is not a site error.
    pg.on("requestfailed", lambda r: None if r.url.endswith("/favicon.svg") and r.failure == "net::ERR_ABORTED"
          else problems.append(f"request failed: {r.url} {r.failure}"))
    pg.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return pg


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
    href = page.locator("ul.resources a[rel=nofollow]").first.get_attribute("href")
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
    page.goto(demo_site.url + "/spending/map?lang=th")
    page.wait_for_selector("div.chart .main-svg")
    page.wait_for_selector("div.chart >> nth=1 >> .main-svg")
    assert page.locator("div.chart").nth(1).locator("path.js-fill").count() == 77   # the GeoJSON choropleth, offline
    shot(page, "spending-map-th")
    page.click("section.cube-table a >> text=เชียงใหม่")
    page.wait_for_url("**/spending/province/50")
    page.wait_for_selector("div.chart .main-svg")
    assert "เชียงใหม่" in page.inner_text("h1")
    shot(page, "spending-province-th")


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


MAIN_PAGES = [("home", "/"), ("search", "/dataset?q=%E0%B8%87%E0%B8%9A%E0%B8%9B%E0%B8%A3%E0%B8%B0%E0%B8%A1%E0%B8%B2%E0%B8%93"),
              ("organizations", "/organization"), ("categories", "/group"), ("datarequests", "/datarequest"),
              ("datarequest-new", "/datarequest/new"), ("api", "/api"), ("login", "/user/login")]


def test_main_pages_in_thai_and_english_with_screenshots(demo_site, browser):
    problems = []
    pg = new_page(browser, problems)
    lines = demo_site.admin().action.package_show(id="synthetic-budget-lines")
    pages = MAIN_PAGES + [("dataset", "/dataset/synthetic-budget-lines"),
                          ("resource", f"/dataset/synthetic-budget-lines/resource/{lines['resources'][0]['id']}"),
                          ("organization", f"/organization/{lines['organization']['name']}")]
    for lang, marker in (("th", "ชุดข้อมูล"), ("en", "Datasets")):
        pg.goto(f"{demo_site.url}/?lang={lang}")
        for name, path in pages:
            pg.goto(demo_site.url + path)
            assert pg.get_attribute("html", "lang") == lang, (name, lang)
            assert marker in pg.inner_text("header nav"), (name, lang)
            shot(pg, f"page-{name}-{lang}")
        response = pg.goto(demo_site.url + "/no/such/page")
        assert response.status == 404 and pg.locator("main form[role=search]").count() == 1
        shot(pg, f"page-not-found-{lang}")
    pg.close()
    assert [p for p in problems if "404" not in p] == []
    assert len(problems) == 4   # the two 404 pages, each seen as a response and a console line


def test_switching_language_follows_the_visitor_from_page_to_page(demo_site, page):
    page.goto(demo_site.url + "/")
    assert "ชุดข้อมูลล่าสุด" in page.inner_text("main")
    page.click("a.lang")
    page.wait_for_url("**lang=en*")
    assert "Newest datasets" in page.inner_text("main")
    page.click("header nav a >> text=Datasets")
    page.wait_for_load_state()
    assert "datasets found" in page.inner_text(".count")
    page.click("a.lang")
    page.wait_for_load_state()
    assert "พบ" in page.inner_text(".count")


def test_preview_filter_sort_and_chart_a_datastore_table(demo_site, page):
    lines = demo_site.admin().action.package_show(id="synthetic-budget-lines")
    page.goto(f"{demo_site.url}/dataset/synthetic-budget-lines/resource/{lines['resources'][0]['id']}")
    total = int(page.inner_text(".preview .count").split()[0].replace(",", ""))
    assert total > 1000 and page.locator("table.preview-table tbody tr").count() == 25
    ministry_col = [h.split("\n")[0] for h in page.locator("table.preview-table thead th").all_inner_texts()].index("min")
    page.locator("tr.preview-filters input").nth(ministry_col).fill("กลาโหม")
    page.click("#preview-form button[type=submit]")
    page.wait_for_url("**q.min=*")
    filtered = int(page.inner_text(".preview .count").split()[0].replace(",", ""))
    assert 0 < filtered < total
    cells = page.locator("table.preview-table tbody tr").evaluate_all(
        f"rows => rows.map(r => r.cells[{ministry_col}].innerText)")
    assert cells and all("กลาโหม" in c for c in cells)
    assert "q=" in page.get_attribute(".preview .count a >> text=CSV", "href")
    shot(page, "resource-preview-filtered-th")
    page.select_option("#chart-x", "agc")
    page.click("#chart-builder button")
    page.wait_for_selector("#quick-chart .main-svg")
    assert int(page.get_attribute("#quick-chart", "data-drawn")) > 0
    shot(page, "resource-chart-th")


def test_a_saved_chart_view_draws_itself_on_the_resource_page(demo_site, page):
    lines = demo_site.admin().action.package_show(id="synthetic-budget-lines")
    rid = lines["resources"][0]["id"]
    view = demo_site.admin().action.resource_view_create(resource_id=rid, view_type="chart_view", title="งบตามหน่วยงาน",
                                                         chart_type="bar", x_field="agc")
    page.goto(f"{demo_site.url}/dataset/synthetic-budget-lines/resource/{rid}")
    assert [h.strip() for h in page.locator(".views h3").all_inner_texts()][-1] == "งบตามหน่วยงาน"
    page.wait_for_selector(f"#chart-{view['id']} .main-svg")
    assert int(page.get_attribute(f"#chart-{view['id']}", "data-drawn")) > 1
    assert page.locator("#view-" + view["id"]).get_attribute("data-view-type") == "chart_view"
    demo_site.admin().action.resource_view_delete(id=view["id"])


def _editor(site, name, org):
    """A new user who edits for `org`."""
    site.user_with_token(name)
    site.admin().action.organization_member_create(id=org, username=name, role="editor")


def _login(page, url, name, password="password-123"):
    page.goto(url + "/user/login")
    page.fill("#login", name)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/dashboard")


def test_publisher_creates_a_dataset_uploads_csv_and_sees_the_validation_result(demo_site, page, tmp_path):
    _editor(demo_site, "publisher-b", demo_site.admin().action.organization_list()[0])
    _login(page, demo_site.url, "publisher-b")
    page.click("a >> text=ชุดข้อมูลใหม่")
    page.fill("#i-title", "จำนวนห้องสมุดประชาชน 2567")
    page.fill("#i-name", "Public Libraries!")
    page.fill("#i-maintainer_email", "somying-at-example")
    page.click("form button[type=submit]")
    page.wait_for_selector("#form-errors")   # errors are reported in place, next to their fields
    assert page.input_value("#i-title") == "จำนวนห้องสมุดประชาชน 2567"
    assert page.locator(".field.has-error").count() == 2
    assert page.locator("#f-maintainer_email .error").count() == 1 and page.locator("#f-name .error").count() == 1
    shot(page, "publisher-form-errors-th")
    page.fill("#i-name", "public-libraries-2567")
    page.fill("#i-maintainer", "สมหญิง")
    page.fill("#i-maintainer_email", "somying@example.go.th")
    page.fill("#i-tags", "ห้องสมุด, การศึกษา")
    page.fill("#i-notes", "จำนวนห้องสมุดประชาชนรายจังหวัด")
    page.select_option("#i-license_id", "Creative Commons Attributions")
    for field in ("data_type", "update_frequency_unit", "geo_coverage", "data_category"):
        page.select_option(f"#i-{field}", index=1)
    page.fill("#i-data_source", "กรมส่งเสริมการเรียนรู้")
    page.locator("#i-objective input").first.check()
    page.locator("#i-data_format input").first.check()
    page.click("form button[type=submit]")
    page.wait_for_url("**/dataset/public-libraries-2567/resource/new")
    good = tmp_path / "libraries.csv"
    good.write_text("จังหวัด,จำนวน\nกรุงเทพมหานคร,35\nเชียงใหม่,25\nขอนแก่น,26\n", encoding="utf-8")
    page.set_input_files("#upload", str(good))
    page.click("form button[type=submit]")
    page.wait_for_url("**/resource/*")
    page.wait_for_selector("#load-status.ok", timeout=60000)
    assert "ผ่านการตรวจสอบ" in page.inner_text(".validation")
    assert page.locator("table.preview-table tbody tr").count() == 3
    shot(page, "publisher-upload-valid-th")
    page.goto(demo_site.url + "/dataset/public-libraries-2567/resource/new")
    bad = tmp_path / "ragged.csv"
    bad.write_text("จังหวัด,จำนวน\nกรุงเทพมหานคร,35\nเชียงใหม่,25,เกิน\nขอนแก่น,ยี่สิบหก\n", encoding="utf-8")
    page.set_input_files("#upload", str(bad))
    page.click("form button[type=submit]")
    page.wait_for_url("**/resource/*")
    page.wait_for_selector("#load-status.bad", timeout=60000)
    report = page.inner_text("table.report")
    assert "extra-cell" in report
    shot(page, "publisher-upload-invalid-th")


def test_a_data_request_from_question_to_published_answer(demo_site, browser, page):
    org_name = demo_site.admin().action.organization_list()[1]
    org = demo_site.admin().action.organization_show(id=org_name)
    page.goto(demo_site.url + "/datarequest/new")
    page.fill("#title", "งบประมาณรายหมู่บ้าน")
    page.fill("#description", "ต้องการงบประมาณแยกตามหมู่บ้าน ปี 2565-2567")
    page.select_option("#organization_id", org["id"])
    page.fill("#requester_name", "ชาวบ้าน")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/datarequest/*")
    assert "รอคำตอบ" in page.inner_text("#request-status")
    url = page.url
    shot(page, "datarequest-open-th")
    _editor(demo_site, "answerer-b", org_name)
    problems = []
    staff = new_page(browser, problems)
    _login(staff, demo_site.url, "answerer-b")
    staff.click("a >> text=งบประมาณรายหมู่บ้าน")
    staff.select_option("#status", "published")
    staff.fill("#answer-text", "เผยแพร่ในชุดข้อมูลงบประมาณแล้ว")
    staff.fill("#package_id", "synthetic-budget-lines")
    staff.click("main form button[type=submit]")
    staff.wait_for_selector("#answer")
    staff.close()
    assert problems == []
    page.goto(url)
    assert "เผยแพร่แล้ว" in page.inner_text("#request-status")
    page.click("section.answer a")
    page.wait_for_url("**/dataset/synthetic-budget-lines")
    shot(page, "datarequest-answered-th")


def test_pages_fit_a_phone_screen_and_work_by_keyboard(demo_site, browser):
    problems = []
    pg = browser.new_page(viewport={"width": 390, "height": 844}, locale="th-TH", is_mobile=True)
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    for name, path in (("home", "/"), ("search", "/dataset?q=%E0%B8%99%E0%B9%89%E0%B8%B3"),
                       ("dataset", "/dataset/synthetic-budget-lines"), ("datarequest-new", "/datarequest/new")):
        pg.goto(demo_site.url + path)
        assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
        shot(pg, f"phone-{name}-th")
    pg.goto(demo_site.url + "/")
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.className") == "skip"
    pg.keyboard.press("Enter")
    assert pg.evaluate("location.hash") == "#main"
    pg.close()
    assert problems == []


def _tab_to(pg, selector, limit=150):
    """Press Tab until the focused element matches `selector`: it is reachable by keyboard, in the page's order."""
    for _ in range(limit):
        pg.keyboard.press("Tab")
        if pg.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            visible = pg.evaluate("() => { const r = document.activeElement.getBoundingClientRect(); "
                                  "return r.width > 0 && r.height > 0; }")
            assert visible, f"{selector} takes the focus but cannot be seen"
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def test_search_a_preview_a_publisher_form_and_the_explorer_work_by_keyboard_alone(demo_site, page):
    _editor(demo_site, "keyboard-editor", demo_site.admin().action.organization_list()[0])
    page.goto(demo_site.url + "/")
    _tab_to(page, "input#q")   # search, then into a result
    page.keyboard.type("งบประมาณ")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dataset?q=*")
    _tab_to(page, "ol.results h3 a")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/dataset/" in url and "?" not in url)
    assert page.inner_text("h1")

    lines = demo_site.admin().action.package_show(id="synthetic-budget-lines")
    page.goto(f"{demo_site.url}/dataset/synthetic-budget-lines")   # the dataset page, into its table's preview
    _tab_to(page, f"a[href$='/resource/{lines['resources'][0]['id']}']")
    page.keyboard.press("Enter")
    page.wait_for_selector("table.preview-table")
    _tab_to(page, "tr.preview-filters input")
    page.keyboard.type("กลาโหม")
    page.keyboard.press("Enter")
    page.wait_for_url("**q.*")
    _tab_to(page, "table.preview-table thead th a")
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=*")

    page.goto(demo_site.url + "/user/login")   # a publisher logs in and sends the dataset form
    _tab_to(page, "#login")
    page.keyboard.type("keyboard-editor")
    page.keyboard.press("Tab")
    page.keyboard.type("password-123")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    page.goto(demo_site.url + "/dataset/new")
    _tab_to(page, "#i-title")
    page.keyboard.type("ชุดข้อมูลจากแป้นพิมพ์")
    _tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/resource/new")   # made; the next step, adding its data, opens
    made = demo_site.admin().action.package_search(q="ชุดข้อมูลจากแป้นพิมพ์", include_private=True)["results"]
    assert [p["title"] for p in made] == ["ชุดข้อมูลจากแป้นพิมพ์"]

    page.goto(demo_site.url + "/spending/budget")   # the explorer's year, changed and shown by keyboard
    before = page.input_value("#year-select")
    _tab_to(page, "#year-select")
    page.keyboard.press("ArrowDown")
    _tab_to(page, "form.year-control button")
    page.keyboard.press("Enter")
    page.wait_for_url("**year=*")
    assert page.input_value("#year-select") != before


def test_a_dataset_page_and_a_tax_receipt_print_their_content_only(demo_site, page):
    for path in ("/dataset/synthetic-budget-lines", "/spending/tax?income=600000"):
        page.emulate_media(media="screen")
        page.goto(demo_site.url + path)
        assert page.is_visible("header nav") and page.is_visible("footer")
        page.emulate_media(media="print")
        assert not page.is_visible("header nav") and not page.is_visible("footer"), path
        assert page.is_visible("main h1") and not page.locator("main form").first.is_visible(), path
        shot(page, "print-" + path.strip("/").split("/")[0].split("?")[0])
