"""A dataset as a Frictionless Data Package descriptor (`/dataset/<name>/datapackage.json`)."""
import re

from .datastore import search as datastore
from .errors import NotFound

TYPES = {"text": "string", "int": "integer", "numeric": "number", "float": "number", "bool": "boolean",
         "date": "date", "time": "time", "timestamp": "datetime", "json": "any"}


def _name(text, fallback):
    slug = re.sub(r"[^a-z0-9._-]+", "-", (text or "").lower()).strip("-._")
    return slug or fallback


def descriptor(ctx, pkg):
    """The Data Package of a dataset the caller may read: DataStore tables carry their Table Schema."""
    resources, used = [], set()
    for i, res in enumerate(pkg["resources"], start=1):
        name = _name(res.get("name"), f"resource-{i}")
        if name in used:
            name = f"{name}-{i}"
        used.add(name)
        item = {"name": name, "title": res.get("name") or name, "path": res.get("url") or "",
                "format": (res.get("format") or "").lower() or None, "mediatype": res.get("mimetype") or None}
        if res.get("datastore_active"):
            try:
                info = datastore.datastore_info(ctx, {"id": res["id"]})
            except NotFound:
                info = None
            if info:
                item.update(path=f"{ctx.site_url}/datastore/dump/{res['id']}?format=csv", format="csv",
                            mediatype="text/csv", encoding="utf-8")
                item["schema"] = {"fields": [{"name": f["id"], "type": TYPES.get(f["type"], "any")}
                                             for f in info["fields"] if f["id"] != "_id"]}
        resources.append({k: v for k, v in item.items() if v not in (None, "")})
    out = {"name": pkg["name"], "id": pkg["id"], "title": pkg["title"], "description": pkg.get("notes") or "",
           "homepage": f"{ctx.site_url}/dataset/{pkg['name']}", "version": pkg.get("version") or None,
           "keywords": [t["name"] for t in pkg.get("tags") or []], "created": (pkg.get("metadata_created") or "")[:19] + "Z",
           "resources": resources}
    if pkg.get("license_id"):
        out["licenses"] = [{"name": pkg["license_id"], "title": pkg.get("license_title") or pkg["license_id"],
                            **({"path": pkg["license_url"]} if pkg.get("license_url") else {})}]
    if pkg.get("organization"):
        out["contributors"] = [{"title": pkg["organization"]["title"], "role": "publisher"}]
    return {k: v for k, v in out.items() if v not in (None, "")}
