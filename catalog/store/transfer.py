"""Copying a whole SQLite catalogue into a new PostgreSQL one: the way a portal moves from one machine to several.

Every table is copied as it is (the search index too, so nothing is re-segmented), parents before children,
in one transaction on the destination: it has everything or nothing."""
from graphlib import TopologicalSorter

from .db import SchemaTooNew, dialect, transaction, versions
from .textmatch import recount

_SKIP = {"schema_migrations", "component_migrations"}


class TransferError(ValueError):
    """A copy that cannot start: the wrong kinds of database, different migrations, a destination in use."""


def _fts_tables(src):
    """The FTS5 tables (search_trigram, ...): PostgreSQL has them as plain tables, their rowid a column."""
    return {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE "
                                      "'CREATE VIRTUAL TABLE % USING fts5%'")}


def _tables(src):
    names = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    # FTS5 keeps its own shadow tables (search_words_data, ...); the virtual table itself is copied.
    fts = _fts_tables(src)
    names = [n for n in names if n not in _SKIP and not any(n.startswith(f + "_") for f in fts)]
    graph = {n: {r[2] for r in src.execute(f"PRAGMA foreign_key_list({n})") if r[2] != n} for n in names}
    return list(TopologicalSorter(graph).static_order())


def _columns(src, dst, table):
    if table in _fts_tables(src):
        source_cols = ["rowid"] + [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
    else:
        source_cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
    writable = {r[0] for r in dst.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? "
        "AND is_generated = 'NEVER' AND identity_generation IS DISTINCT FROM 'ALWAYS'", (table,))}
    return [c for c in source_cols if c in writable]


def copy_catalogue(src, dst, progress=None):
    """Copy every row of the SQLite catalogue `src` into the empty, migrated PostgreSQL catalogue `dst`;
    returns {table: rows copied}."""
    if dialect(src) != "sqlite" or dialect(dst) != "postgresql":
        raise TransferError("copies a SQLite catalogue into a PostgreSQL one")
    if versions(src) != versions(dst):
        raise SchemaTooNew(f"the two catalogues are at different migrations ({versions(src)} and {versions(dst)}); "
                           "run `khlang migrate` on the older one first")
    if dst.execute("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM packages)").fetchone()[0]:
        raise TransferError("the destination already has users or datasets; copy into a new, empty database")
    tables = [t for t in _tables(src) if t != "search_text_stats"]
    counts = {}
    with transaction(dst):
        for table in reversed(tables):   # children first: the migrations' own rows go (search_generation)
            dst.execute(f"DELETE FROM {table}")
        for table in tables:
            cols = _columns(src, dst, table)
            order = " ORDER BY rowid" if table == "activity" else ""   # its insertion order is its tie-break
            rows = src.execute(f"SELECT {', '.join(cols)} FROM {table}{order}")
            counts[table] = dst.copy_rows(table, cols, rows)
            if progress:
                progress(table, counts[table])
        for table, column in dst.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND identity_generation = 'BY DEFAULT'").fetchall():
            # Rows came with their ids; the next id made here follows the largest copied one.
            dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"GREATEST((SELECT max({column}) FROM {table}), 1))")
        recount(dst)
    return counts
