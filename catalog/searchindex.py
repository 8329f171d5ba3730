"""The search index: one row per dataset in search_docs, exact terms, trigram and word FTS tables."""
from . import gdc
from .thaitext import normalize, words

FTS_COLUMNS = ("title", "tags", "org", "res", "notes")


def _terms(pkg):
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
    out += [("tags", t["name"]) for t in pkg["tags"]]
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
    # Every write gets a fresh, larger doc_id, so rowid order is modification order: searches can
    # then walk FTS hits newest first and stop after one page instead of sorting every hit.
    row = db.execute("SELECT doc_id, state, private, text, title_words FROM search_docs WHERE package_id = ?",
                     (pkg["id"],)).fetchone()
    cols = _columns(pkg)
    text = " | ".join(cols[c] for c in FTS_COLUMNS)
    segmented = None
    if row and row[3] == text:
        # The searchable text is unchanged (a new DataStore version, a resource's URL): keep its segmentation,
        # which costs a dictionary load in a fresh process.
        old = db.execute("SELECT title, tags, org, res, notes FROM search_words WHERE rowid = ?", (row[0],)).fetchone()
        segmented = (row[4], tuple(old)) if old else None
    if row:
        _drop(db, row)
    if segmented is None:
        segmented = (" " + " ".join(words(cols["title"])) + " ", tuple(" ".join(words(cols[c])) for c in FTS_COLUMNS))
    values = (pkg["name"], cols["title"], segmented[0], pkg.get("owner_org"), int(pkg["private"]),
              pkg["state"], pkg["type"], pkg.get("creator_user_id"), pkg["metadata_created"], pkg["metadata_modified"], text)
    doc_id = db.execute(
        "INSERT INTO search_docs (package_id, name, title_sort, title_words, owner_org, private, state, type, "
        "creator_user_id, metadata_created, metadata_modified, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", (pkg["id"], *values)
    ).lastrowid
    db.execute("UPDATE search_generation SET generation = generation + 1 WHERE id = 1")
    terms = sorted(set(_terms(pkg)))
    db.executemany("INSERT INTO search_terms (doc_id, field, value) VALUES (?,?,?)", [(doc_id, f, v) for f, v in terms])
    if pkg["state"] == "active" and not pkg["private"]:
        db.executemany("INSERT INTO search_facet_counts (field, value, n) VALUES (?, ?, 1) "
                       "ON CONFLICT (field, value) DO UPDATE SET n = n + 1", terms)
    db.execute("INSERT INTO search_trigram (rowid, title, tags, org, res, notes) VALUES (?,?,?,?,?,?)",
               (doc_id, *(cols[c] for c in FTS_COLUMNS)))
    db.execute("INSERT INTO search_words (rowid, title, tags, org, res, notes) VALUES (?,?,?,?,?,?)",
               (doc_id, *segmented[1]))


def _drop(db, row):
    # The facet counts follow: a public, active dataset leaving the index no longer counts.
    if row[1] == "active" and not row[2]:
        db.execute("UPDATE search_facet_counts SET n = n - 1 WHERE (field, value) IN "
                   "(SELECT field, value FROM search_terms WHERE doc_id = ?)", (row[0],))
    for table, key in (("search_terms", "doc_id"), ("search_trigram", "rowid"), ("search_words", "rowid"),
                       ("search_docs", "doc_id")):
        db.execute(f"DELETE FROM {table} WHERE {key} = ?", (row[0],))


def remove_package(db, package_id):
    """Take a dataset out of the index (when it is purged), in the caller's transaction."""
    row = db.execute("SELECT doc_id, state, private FROM search_docs WHERE package_id = ?", (package_id,)).fetchone()
    if row:
        _drop(db, row)
        db.execute("UPDATE search_generation SET generation = generation + 1 WHERE id = 1")


def rebuild(ctx):
    """Reindex every package (after a migration or a restore)."""
    from .db import transaction
    from .packages import package_dicts

    ids = [r[0] for r in ctx.db.execute("SELECT id FROM packages ORDER BY metadata_modified")]
    with transaction(ctx.db):
        for i in range(0, len(ids), 200):
            for pkg in package_dicts(ctx, ids[i:i + 200]):
                index_package(ctx.db, pkg)
    return len(ids)
