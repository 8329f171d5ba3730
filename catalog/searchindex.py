"""The search index: one row per dataset in search_docs, exact terms, trigram and word FTS tables, and the
forgiving tiers' folded and romanised text and vocabulary (catalog/forgiving.py)."""
import json

from . import forgiving, gdc
from .dicts import package_dicts
from .store import groups as group_store
from .store import packages as package_store
from .store import searchindex as index_store
from .store import vocabularies as vocab_store
from .store.db import transaction
from .thaitext import normalize, words

FTS_COLUMNS = ("title", "tags", "org", "res", "notes")


def _terms(pkg, vocabularies):
    out = [("id", pkg["id"]), ("name", pkg["name"]), ("type", pkg["type"]), ("dataset_type", pkg["type"]),
           ("capacity", "private" if pkg["private"] else "public"), ("state", pkg["state"])]
    if pkg.get("organization"):
        out.append(("organization", pkg["organization"]["name"]))
    if pkg.get("owner_org"):
        out.append(("owner_org", pkg["owner_org"]))
    if pkg.get("license_id"):
        out.append(("license_id", pkg["license_id"]))
    for key in ("maintainer", "author", "url", "creator_user_id"):
        if pkg.get(key):
            out.append((key, str(pkg[key])))
    out += [("tags", t["name"]) for t in pkg["tags"] if not t.get("vocabulary_id")]
    out += [(f"vocab_{vocabularies[t['vocabulary_id']]}", t["name"]) for t in pkg["tags"]
            if t.get("vocabulary_id") in vocabularies]
    out += [("groups", g["name"]) for g in pkg["groups"]]
    out += [("res_format", f) for f in sorted({r["format"] for r in pkg["resources"] if r.get("format")})]
    for name in gdc.choice_fields():
        value = pkg.get(name)
        for v in value if isinstance(value, list) else ([value] if value else []):
            out.append((name, str(v)))
    for e in pkg.get("extras") or []:
        if e.get("value") is not None:
            out.append((f"extras_{e['key']}", str(e["value"])[:500]))
    return out


def _columns(pkg):
    org = pkg.get("organization") or {}
    res = " ".join(f"{r.get('name') or ''} {r.get('description') or ''}" for r in pkg["resources"])
    return {
        "title": normalize(pkg.get("title") or pkg["name"]),
        "tags": normalize(" ".join(t["name"] for t in pkg["tags"]) + " " + " ".join(g.get("title") or g["name"] for g in pkg["groups"])),
        "org": normalize(f"{org.get('name', '')} {org.get('title', '')}"),
        "res": normalize(res),
        "notes": normalize(f"{pkg['name'].replace('-', ' ')} {pkg.get('notes') or ''}"),
    }


def index_package(db, pkg):
    """(Re)index one package dict in the caller's transaction, so it is findable on commit."""
    row = index_store.doc_of(db, pkg["id"])
    cols = _columns(pkg)
    text = " | ".join(cols[c] for c in FTS_COLUMNS)
    segmented = loose = None
    if row and row[3] == text:
        # The searchable text is unchanged (a new DataStore version, a resource's URL): keep its segmentation
        # and romanisation, which cost a dictionary load in a fresh process.
        old, loose = index_store.segmented_of(db, row[0]), index_store.loose_of(db, row[0])
        segmented = (row[4], old) if old and loose else None
        vocab = row[5].split()
    if row:
        index_store.drop(db, row)
    if segmented is None:
        segmented = (" " + " ".join(words(cols["title"])) + " ", tuple(" ".join(words(cols[c])) for c in FTS_COLUMNS))
        loose = forgiving.loose_columns(pkg, _org_title_en(db, pkg.get("owner_org")))
        vocab = forgiving.vocabulary(pkg)
    doc = (pkg["id"], pkg["name"], cols["title"], segmented[0], pkg.get("owner_org"), int(pkg["private"]),
           pkg["state"], pkg["type"], pkg.get("creator_user_id"), pkg["metadata_created"], pkg["metadata_modified"], text)
    vocabularies = {t["vocabulary_id"]: vocab_store.get(db, t["vocabulary_id"])["name"] for t in pkg["tags"]
                    if t.get("vocabulary_id")}
    index_store.insert(db, doc, sorted(set(_terms(pkg, vocabularies))), pkg["state"] == "active" and not pkg["private"],
                       tuple(cols[c] for c in FTS_COLUMNS), segmented[1], loose, {w: forgiving.edits(w) for w in vocab})


def _org_title_en(db, org_id):
    """An organization's English title (its `title_en` extra), which romanised searches find too."""
    row = group_store.get_group(db, org_id) if org_id else None
    extras = json.loads(row["extras"] or "[]") if row else []
    return next((str(e.get("value") or "") for e in extras if e.get("key") == "title_en"), None)


def remove_package(db, package_id):
    """Take a dataset out of the index (when it is purged), in the caller's transaction."""
    row = index_store.doc_of(db, package_id)
    if row:
        index_store.drop(db, row)
        index_store.bump_generation(db)


def rebuild(ctx, ids=None):
    """Reindex every package (after a migration or a restore), or the given ones."""
    ids = package_store.ids_by_modified(ctx.db) if ids is None else ids
    with transaction(ctx.db):
        for i in range(0, len(ids), 200):
            for pkg in package_dicts(ctx, ids[i:i + 200]):
                index_package(ctx.db, pkg)
    return len(ids)


def fill_forgiving(ctx):
    """Index the forgiving text of the datasets indexed before it existed; returns how many."""
    return rebuild(ctx, index_store.lacking_loose(ctx.db))
