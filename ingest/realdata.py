"""The real public data the demo ships (data/real/): the data.go.th catalogue mirror as catalogue
datasets, and every spending file through the normal ingest path, as data/real/manifest.json declares."""
import gzip
import hashlib
import json
from pathlib import Path

from pythainlp.transliterate import romanize

from catalog.store.db import transaction
from catalog.errors import NotFound
from catalog.groups import organization_create, organization_show
from catalog.packages import package_create
from catalog.params import name_errors, tag_errors

from .publishing import Metadata, ingest_local

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
MIRRORED = "mirrored_from"


def manifest(folder=REAL):
    """The declarative manifest of the shipped real data."""
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))


def org_slug(title, declared, taken):
    """A CKAN name for an organization known only by its Thai title: declared, else its RTGS romanisation."""
    if title in declared:
        return declared[title]
    words = romanize(title, engine="royin").lower()
    slug = "-".join("".join(ch if ch.isalnum() and ch.isascii() else " " for ch in words).split())[:90].strip("-")
    if name_errors(slug) or slug in taken.values():
        slug = (slug[:80] + "-" if slug else "org-") + hashlib.sha256(title.encode()).hexdigest()[:8]
    return slug


def _ensure_org(ctx, name, title, title_en=None, description=None):
    try:
        organization_show(ctx, {"id": name})
        return False
    except NotFound:
        data = {"name": name, "title": title}
        if title_en:
            data["extras"] = [{"key": "title_en", "value": title_en}]
        if description:
            data["description"] = description
        organization_create(ctx, data)
        return True


def seed_mirror(ctx, doc, folder=REAL):
    """The data.go.th records as datasets with their organizations, tags, licences and resource links."""
    spec = doc["mirror"]
    declared = spec["organization_slugs"]
    orgs, counts = {}, {"datasets": 0, "organizations": 0, "resources": 0, "tags_dropped": 0, "skipped": 0}
    with gzip.open(Path(folder) / spec["file"], "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    with transaction(ctx.db):
        for rec in records:
            title = rec["organization_title"]
            if title not in orgs:
                orgs[title] = org_slug(title, declared, orgs)
                counts["organizations"] += _ensure_org(ctx, orgs[title], title)
            name = rec["name"].lower()
            if name_errors(name):
                counts["skipped"] += 1
                continue
            tags = [t for t in dict.fromkeys(rec.get("tags") or []) if not tag_errors(t)]
            counts["tags_dropped"] += len(rec.get("tags") or []) - len(tags)
            notes = (rec.get("notes") or "").strip()
            package_create(ctx, {
                "name": name, "title": rec["title"], "owner_org": orgs[title],
                "notes": f"{notes}\n\n{spec['note_th']} ({spec['note_en']}) {rec['url']}".strip(),
                "tags": [{"name": t} for t in tags], "url": rec["url"],
                "license_id": spec["licenses"].get(rec.get("license"), "notspecified"),
                "extras": [{"key": MIRRORED, "value": "data.go.th"}, {"key": "original_url", "value": rec["url"]},
                           {"key": "original_metadata_modified", "value": rec.get("metadata_modified") or ""}],
                "resources": [{"name": r.get("name") or r.get("format") or "resource", "format": r.get("format") or "",
                               "url": r.get("url") or ""} for r in rec.get("resources") or []],
            })
            counts["datasets"] += 1
            counts["resources"] += len(rec.get("resources") or [])
    return counts


def seed_spending_files(ctx, doc, folder=REAL, progress=None):
    """Every declared dataset through the normal ingest path; returns [(dataset, resource, rows)].

    Raises RuntimeError naming the file when a shipped file does not validate (a packaging bug)."""
    loaded = []
    for org, o in doc["organizations"].items():
        _ensure_org(ctx, org, o["title"], o.get("title_en"), o.get("description"))
    for ds in doc["datasets"]:
        meta = Metadata(title=ds["title"], notes=ds["notes"], license_id=ds.get("license_id"), tags=ds.get("tags", []),
                        extras=dict(ds.get("gdc", {})), coverage=ds.get("coverage", []),
                        ckan_extras={"title_en": ds.get("title_en"), "citation": ds.get("citation")})
        for res in ds["resources"]:
            paths = sorted(str(p) for pattern in res["files"] for p in Path(folder).glob(pattern))
            if not paths:
                raise RuntimeError(f"{ds['name']}: no file matches {res['files']}")
            done = ingest_local(ctx, paths, org=ds["org"], dataset=ds["name"], source=res["source"],
                                resource=res["name"], meta=meta)
            if not done.report["valid"]:
                first = next((e for t in done.report["tasks"] for e in t["errors"]), {})
                raise RuntimeError(f"{ds['name']}: {res['name']} did not validate: {first.get('message')}")
            loaded.append((ds["name"], res["name"], done.loaded["rows"]))
            if progress:
                progress(f"  {ds['name']} / {res['name']}: {done.loaded['rows']:,} rows ({done.seconds:.1f} s)")
    return loaded
