"""Reading the catalogue as CKAN dicts: packages (with resources, tags, groups, organization) and resources.

Writes import this module; it imports only the store, so reading never runs in a circle with writing."""
import functools
import json
import uuid
from urllib.parse import quote

from . import gdc, licenses
from .store import packages as package_store
from .store import resources as resource_store
from .store import vocabularies as vocab_store
from .store.db import together

_TAG_NS = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def tag_dict(name, vocabulary_id=None):
    """CKAN's tag dict; the id is stable per name (and vocabulary)."""
    return {"display_name": name, "id": _tag_id(name, vocabulary_id), "name": name, "state": "active",
            "vocabulary_id": vocabulary_id}


@functools.lru_cache(maxsize=65536)
def _tag_id(name, vocabulary_id):
    return str(uuid.uuid5(_TAG_NS, name if vocabulary_id is None else f"{vocabulary_id}:{name}"))


def download_url(site_url, package_id, resource_id, filename):
    """CKAN's download URL of an uploaded file."""
    return f"{site_url.rstrip('/')}/dataset/{package_id}/resource/{resource_id}/download/{quote(filename)}"


def resource_dict(row, site_url):
    """CKAN's resource dict (uploads get their download URL on this site)."""
    extras = json.loads(row["extras"])
    url = row["url"] or ""
    if row["url_type"] == "upload":
        url = download_url(site_url, row["package_id"], row["id"], url.rsplit("/", 1)[-1])
    d = {
        "cache_last_updated": None, "cache_url": None, "created": row["created"],
        "datastore_active": bool(row["datastore_active"]), "description": row["description"] or "",
        "format": row["format"] or "", "hash": row["hash"] or "", "id": row["id"],
        "last_modified": row["last_modified"], "metadata_modified": row["metadata_modified"],
        "mimetype": row["mimetype"], "mimetype_inner": None, "name": row["name"], "package_id": row["package_id"],
        "position": row["position"], "resource_type": None, "size": row["size"], "state": row["state"],
        "url": url, "url_type": row["url_type"],
    }
    for k, v in extras.items():
        d.setdefault(k, v)
    return d


def package_dicts(ctx, ids):
    """Full package_show dicts for ids, in the given order, read with one query per table."""
    if not ids:
        return []
    db = ctx.db
    with together(db):
        parts = (package_store.rows_by_id(db, ids), package_store.owners_of(db, ids), package_store.tags_of(db, ids),
                 vocab_store.of_packages(db, ids), package_store.groups_of(db, ids), resource_store.active_of(db, ids))
        rows, orgs, tag_rows, vocab_rows, group_rows, resource_rows = (cursor.fetchall() for cursor in parts)
    rows = {r["id"]: r for r in rows}
    orgs = {g["id"]: g for g in orgs}
    tags, groups, res = {}, {}, {}
    for pid, name in tag_rows:
        tags.setdefault(pid, []).append(tag_dict(name))
    for pid, vid, _vocabulary, name in vocab_rows:
        tags.setdefault(pid, []).append(tag_dict(name, vid))
    for r in group_rows:
        groups.setdefault(r[0], []).append({"description": r[4], "display_name": r[3] or r[2], "id": r[1],
                                            "image_display_url": r[5], "name": r[2], "title": r[3]})
    for r in resource_rows:
        res.setdefault(r["package_id"], []).append(resource_dict(r, ctx.site_url))
    out = []
    for pid in ids:
        row = rows.get(pid)
        if row is None:
            continue
        out.append(_package_dict(row, orgs.get(row["owner_org"]), tags.get(pid, []), groups.get(pid, []), res.get(pid, [])))
    return out


def _package_dict(row, org, tags, groups, res):
    lic = licenses.by_id(row["license_id"]) if row["license_id"] else None
    d = {
        "author": row["author"], "author_email": row["author_email"], "creator_user_id": row["creator_user_id"],
        "extras": json.loads(row["extras"]), "groups": groups, "id": row["id"],
        "isopen": bool(lic and lic["od_conformance"] == "approved"),
        "license_id": row["license_id"], "license_title": lic["title"] if lic else row["license_id"],
        "maintainer": row["maintainer"], "maintainer_email": row["maintainer_email"],
        "metadata_created": row["metadata_created"], "metadata_modified": row["metadata_modified"],
        "name": row["name"], "notes": row["notes"], "num_resources": len(res), "num_tags": len(tags),
        "organization": None, "owner_org": row["owner_org"], "private": bool(row["private"]),
        "relationships_as_object": [], "relationships_as_subject": [], "resources": res, "state": row["state"],
        "tags": tags, "title": row["title"], "type": row["type"], "url": row["url"],
        "version": row["version"],
    }
    if lic and lic.get("url"):
        d["license_url"] = lic["url"]
    for e in d["extras"]:
        if e.get("key") in ("harvest_source", "harvest_url"):
            d[e["key"]] = e.get("value")   # where a harvested dataset came from, at the top as ckanext-harvest shows it
    if org is not None:
        d["organization"] = {
            "approval_status": org["approval_status"], "created": org["created"], "description": org["description"],
            "id": org["id"], "image_url": org["image_url"], "is_organization": True, "name": org["name"],
            "state": org["state"], "title": org["title"], "type": org["type"],
        }
    d.update(json.loads(row["fields"]))
    d["metadata_quality"] = gdc.quality(d)
    return d
