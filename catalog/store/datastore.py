"""DataStore tables in the catalogue: each resource's versions (one Parquet file each), its live version pointer,
its aliases, and the stored files. The rows of the tables themselves live in the Parquet files (catalog/datastore/tables.py)."""
import json


def resource_for_alias(db, alias):
    """The resource id an alias names, or None."""
    row = db.execute("SELECT resource_id FROM datastore_aliases WHERE alias = ?", (alias,)).fetchone()
    return row[0] if row else None


def aliases_of(db, resource_id):
    """A resource's aliases."""
    return [r[0] for r in db.execute("SELECT alias FROM datastore_aliases WHERE resource_id = ?", (resource_id,))]


def add_alias(db, alias, resource_id):
    """Name a resource's table by an alias (no-op when it already does)."""
    db.execute("INSERT INTO datastore_aliases (alias, resource_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
               (alias, resource_id))


def version(db, resource_id, number):
    """One version row of a resource's table, or None."""
    return db.execute("SELECT * FROM resource_versions WHERE resource_id = ? AND version = ?",
                      (resource_id, number)).fetchone()


def live_version(db, resource_id):
    """The live version row of a resource's table, or None."""
    return db.execute(
        "SELECT v.* FROM datastore_tables t JOIN resource_versions v ON v.id = t.current_version_id "
        "WHERE t.resource_id = ?", (resource_id,)).fetchone()


def versions(db, resource_id):
    """Every version row of a resource's table, newest first."""
    return db.execute("SELECT * FROM resource_versions WHERE resource_id = ? ORDER BY version DESC",
                      (resource_id,)).fetchall()


def add_version(db, vid, resource_id, sha, source_sha256, rows, fields_json, primary_key_json, report_json, note, ts,
                user_id, indexes_json=None):
    """Record a written Parquet file (and its index copies) as the resource's next version and point its table at
    it; the version number."""
    n = db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM resource_versions WHERE resource_id = ?",
                   (resource_id,)).fetchone()[0]
    db.execute(
        "INSERT INTO resource_versions (id, resource_id, version, parquet_sha256, source_sha256, row_count, fields, "
        "primary_key, report, note, loaded_at, loaded_by, indexes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (vid, resource_id, n, sha, source_sha256, rows, fields_json, primary_key_json, report_json, note, ts, user_id,
         indexes_json))
    db.execute("INSERT INTO datastore_tables (resource_id, current_version_id) VALUES (?, ?) "
               "ON CONFLICT (resource_id) DO UPDATE SET current_version_id = excluded.current_version_id",
               (resource_id, vid))
    db.execute("UPDATE resources SET datastore_active = 1, last_modified = ?, metadata_modified = ? WHERE id = ?",
               (ts, ts, resource_id))
    return n


def drop_table(db, resource_id, ts):
    """Stop serving a resource's table (its versions stay) and drop its aliases."""
    db.execute("DELETE FROM datastore_tables WHERE resource_id = ?", (resource_id,))
    db.execute("DELETE FROM datastore_aliases WHERE resource_id = ?", (resource_id,))
    db.execute("UPDATE resources SET datastore_active = 0, metadata_modified = ? WHERE id = ?", (ts, resource_id))


def live_tables(db, resource_ids):
    """Live tables of active resources of active datasets among `resource_ids`: the resource, its dataset and the
    live version (parquet_sha256, version), oldest dataset first."""
    if not resource_ids:
        return []
    marks = ",".join("?" * len(resource_ids))
    return db.execute(
        "SELECT r.id AS resource_id, v.parquet_sha256, v.version, r.name AS resource_name, p.id AS package_id, "
        "p.name AS package_name, p.title AS package_title, p.metadata_created, p.extras AS package_extras "
        "FROM resources r JOIN packages p ON p.id = r.package_id AND p.state = 'active' "
        "JOIN datastore_tables t ON t.resource_id = r.id "
        f"JOIN resource_versions v ON v.id = t.current_version_id WHERE r.state = 'active' AND r.id IN ({marks}) "
        "ORDER BY p.metadata_created, p.id, r.id", list(resource_ids)).fetchall()


def version_shas(db):
    """Every distinct Parquet sha256 a version points at: its rows and the copies its indexes keep."""
    shas = set()
    for sha, indexes in db.execute("SELECT parquet_sha256, indexes FROM resource_versions"):
        shas.add(sha)
        shas.update(ix["parquet_sha256"] for ix in json.loads(indexes or "[]"))
    return sorted(shas)


def dangling_pointers(db):
    """Resource ids whose live-version pointer names a version that does not exist."""
    return [r[0] for r in db.execute(
        "SELECT t.resource_id FROM datastore_tables t LEFT JOIN resource_versions v ON v.id = t.current_version_id "
        "WHERE t.current_version_id IS NOT NULL AND v.id IS NULL")]


def add_file(db, sha, size, ts):
    """Record a stored upload by sha256 (no-op when known)."""
    db.execute("INSERT INTO files (sha256, size, created) VALUES (?,?,?) ON CONFLICT DO NOTHING", (sha, size, ts))


def file_shas(db):
    """Every stored upload's sha256."""
    return [r[0] for r in db.execute("SELECT sha256 FROM files ORDER BY sha256")]


def integrity_check(db):
    """SQLite's own integrity check: "ok" or what is wrong (PostgreSQL checks its pages itself: "ok")."""
    if getattr(db, "dialect", "sqlite") == "postgresql":
        return "ok" if db.execute("SELECT 1").fetchone()[0] == 1 else "no answer"
    return db.execute("PRAGMA integrity_check").fetchone()[0]
