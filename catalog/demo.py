"""Synthetic demo catalogue from data/seed/catalog.json (real agency names, generated datasets)."""
import io
import json
import random
from pathlib import Path

from . import gdc
from .store import sitemeta
from .context import Context
from .store.db import transaction
from .groups import organization_create, group_create
from .packages import package_create
from .resources import resource_create

SEED = Path(__file__).resolve().parent.parent / "data" / "seed" / "catalog.json"
SYNTHETIC_NOTE = "ข้อมูลสาธิตสังเคราะห์ (synthetic demo data)"
FISCAL_YEARS = list(range(2563, 2569))


def seed_inputs():
    """The authored seed file."""
    return json.loads(SEED.read_text(encoding="utf-8"))


def _gdc_fields(rng, data_type, unit, first_year):
    return {
        "data_type": data_type,
        "objective": rng.sample(["พันธกิจหน่วยงาน", "เพื่อการให้บริการประชาชน", "ยุทธศาสตร์ชาติ", "มติคณะรัฐมนตรี"], 2),
        "update_frequency_unit": unit,
        "update_frequency_interval": "1",
        "geo_coverage": rng.choice(["ประเทศ", "จังหวัด", "ภาค"]),
        "data_source": "สร้างขึ้นเพื่อการสาธิต (synthetic)",
        "data_format": ["CSV"],
        "data_category": "ข้อมูลสาธารณะ",
        "data_classification": "เปิดเผย",
        "data_language": ["ไทย"],
        "first_year_of_data": str(first_year),
        "last_year_of_data": "2568",
    }


def _csv_bytes(rng, title):
    lines = ["\ufeffปีงบประมาณ,รายการ,จำนวนเงิน (บาท)"]
    for year in FISCAL_YEARS:
        for i in range(1, 4):
            lines.append(f"{year},{title[:30]} รายการที่ {i},{rng.randint(10_000, 50_000_000)}.00")
    return ("\n".join(lines) + "\n").encode("utf-8")


class _Upload(io.BytesIO):
    def __init__(self, data, filename):
        super().__init__(data)
        self.filename = filename


def seed_demo(db, settings, *, sysadmin, rng_seed=2565, uploads=True):
    """Create the demo organizations, category groups and datasets; returns counts."""
    inputs = seed_inputs()
    rng = random.Random(rng_seed)
    ctx = Context(db=db, settings=settings, user=sysadmin, site_url=settings.site_url)
    created = {"organizations": 0, "groups": 0, "datasets": 0}
    with transaction(db):
        sitemeta.put(db, "demo", "synthetic")
        for org in inputs["organizations"]:
            organization_create(ctx, {"name": org["name"], "title": org["title"],
                                      "description": f"{org['title']} ({org['title_en']}). {SYNTHETIC_NOTE}",
                                      "extras": [{"key": "title_en", "value": org["title_en"]}]})
            created["organizations"] += 1
        for grp in inputs["groups"]:
            group_create(ctx, {"name": grp["name"], "title": grp["title"], "description": grp["title"]})
            created["groups"] += 1
        licenses = [lic["id"] for lic in gdc.gdc_licenses()][:5] + ["cc-by", "odc-by"]
        plan = []
        for org in inputs["organizations"]:
            for topic in rng.sample(inputs["topics"], k=rng.randint(5, len(inputs["topics"]))):
                plan.append((f"{org['name']}-{topic['slug']}", topic["title"].format(agency=org["title"]),
                             topic["notes"].format(agency=org["title"]), org["name"], topic["tags"], topic["group"],
                             topic["data_type"], topic["unit"]))
        for sp in inputs["special"]:
            plan.append((sp["slug"], sp["title"], sp["notes"], sp["org"], sp["tags"], sp["group"], "ข้อมูลสถิติ", "เดือน"))
        for i, (name, title, notes, org, tags, group, data_type, unit) in enumerate(plan):
            fields = _gdc_fields(rng, data_type, unit, rng.choice(FISCAL_YEARS[:4]))
            if i % 9 == 0:
                fields = {k: fields[k] for k in ("data_type", "data_category")}  # some sparse metadata, lower score
            pkg = package_create(ctx, {
                "name": name, "title": title, "notes": f"{notes}\n\n{SYNTHETIC_NOTE}", "owner_org": org,
                "tags": [{"name": t} for t in tags] + [{"name": "ข้อมูลสาธิต"}], "groups": [{"name": group}],
                "license_id": rng.choice(licenses), "maintainer": "ฝ่ายข้อมูลและสารสนเทศ",
                "maintainer_email": f"data@{org}.example.go.th", "private": i % 23 == 5, **fields,
            })
            if uploads:
                resource_create(ctx, {"package_id": pkg["id"], "name": f"{title[:60]} (CSV)", "format": "CSV",
                                      "description": "ไฟล์ตัวอย่างสังเคราะห์",
                                      "upload": _Upload(_csv_bytes(rng, title), f"{name}.csv")})
            created["datasets"] += 1
    return created


def _vocabulary(rng, size=4000):
    """Thai words from pythainlp's bundled dictionary, so benchmark titles have a realistic spread."""
    from pythainlp.corpus import thai_words  # the dictionary loads only for the synthetic demo

    pool = sorted(w for w in thai_words() if 2 <= len(w) <= 12 and " " not in w)
    return rng.sample(pool, size)


def synthetic_datasets(db, settings, *, sysadmin, count, rng_seed=7, batch=500, progress=None):
    """Bulk-create `count` synthetic datasets (for benchmarks) through package_create.

    Titles mix a seed topic, words drawn Zipf-like from a 4,000-word Thai vocabulary, a province and
    a fiscal year, so term frequencies look like a real catalogue rather than 19 repeated templates.
    """
    inputs = seed_inputs()
    rng = random.Random(rng_seed)
    vocab = _vocabulary(rng)
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    ctx = Context(db=db, settings=settings, user=sysadmin, site_url=settings.site_url)
    orgs = [o["name"] for o in inputs["organizations"]]
    org_titles = {o["name"]: o["title"] for o in inputs["organizations"]}
    places = inputs["provinces"]
    english = ["open data", "statistics", "report", "register", "budget", "survey", "monthly", "annual"]
    done = 0
    while done < count:
        with transaction(db):
            for _ in range(min(batch, count - done)):
                topic = rng.choice(inputs["topics"] + inputs["special"])
                org = topic.get("org") or rng.choice(orgs)
                place = rng.choice(places)
                extra = "".join(rng.choices(vocab, weights, k=2))
                title = f"{topic['title'].format(agency='')}{extra} {place} {rng.choice(FISCAL_YEARS)}"
                notes = (topic["notes"].format(agency=org_titles[org]) + " " + " ".join(rng.choices(vocab, weights, k=12))
                         + f" จังหวัด{place} " + " ".join(rng.sample(english, 2)))
                package_create(ctx, {
                    "name": f"syn-{done:07d}", "title": title, "notes": notes, "owner_org": org,
                    "tags": [{"name": t} for t in topic["tags"]] + [{"name": place}, {"name": rng.choices(vocab, weights)[0]}],
                    "groups": [{"name": topic["group"]}], "license_id": "Open Data Common",
                    "private": done % 50 == 0,
                    "resources": [{"name": f"{title[:40]}.csv", "url": f"https://example.go.th/{done}.csv", "format": "CSV"}],
                    **_gdc_fields(rng, topic.get("data_type", "ข้อมูลสถิติ"), topic.get("unit", "ปี"), 2563),
                })
                done += 1
        if progress:
            progress(done)
    return done
