"""A node's own copy of the search index, for a catalogue on PostgreSQL: a SQLite file on the node's local disk
with the same search tables (FTS5 trigram and word indexes, docs, terms, facet counts), kept up to date from the
catalogue before each search, so searches run the SQLite path and give the same answers at SQLite's speed.

Why: pg_trgm keeps no positions, so an exact count must recheck the text of every hit (60-110 ms for a common
word at 100,000 datasets); FTS5 counts from its index. The catalogue stays the one truth: a copy follows it by
the index generation (changed in every writing transaction), the entries added since (doc_ids only grow, in
commit order, as writes hold the catalogue's write lock) and the entries dropped since (search_drops). A
search waits for its node's copy to reach the generation it read, so a dataset written on one node is found
on every node at once. Until a copy has been built (in the background, when many entries are missing), and
inside a writing transaction, searches run on PostgreSQL itself.

A copy is removed when its process ends, unless it is kept in a local folder (KHLANG_SEARCH_COPY_DIR): it then
records what it holds, and the node's next process checks that against the catalogue and catches up from there
instead of building it again (a minute at 100,000 datasets)."""
import atexit
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from . import sitemeta
from ..settings import database_label
from .db import LitePool, connect, dialect
from .searchindex import drop, pack

log = logging.getLogger(__name__)

BATCH = 2000   # entries copied per round trip
INLINE_MAX = 5000   # missing entries a search waits for; a copy missing more is built in the background

DOC_COLUMNS = ("doc_id, package_id, name, title_sort, title_words, owner_org, private, state, type, "
               "creator_user_id, metadata_created, metadata_modified, text")
FTS = (("search_trigram", "title, tags, org, res, notes"), ("search_words", "title, tags, org, res, notes"),
       ("search_loose", "title, body, roman_title, roman_body"),
       ("search_restricted_trigram", "title, tags, org, res, notes"),
       ("search_restricted_loose", "title, body, roman_title, roman_body"))


class Replica:
    """One process's copy of one PostgreSQL catalogue's search index."""

    def __init__(self, url, keep_in=""):
        self.url = url
        self._slot = None
        if keep_in:
            try:
                self._slot = _take_slot(Path(keep_in), url)
            except OSError as e:   # the node searches all the same, with a copy of this process's own
                log.warning("KHLANG_SEARCH_COPY_DIR: cannot keep the search index copy in %s (%s)", keep_in, e)
        if self._slot is not None:
            self.folder = Path(self._slot.name).parent
        else:
            # Named by the process, so a node starting removes the copies of nodes killed before (integrity.py).
            self.folder = Path(tempfile.mkdtemp(prefix=f"khlang-search-{os.getpid()}-"))
        self.path = self.folder / "search.sqlite"
        self.generation = None   # the catalogue's generation the copy holds; None until first built
        self.max_doc = 0
        self.drop_seq = 0
        self.docs = 0
        self.building = False
        self.merged = False   # each full-text index one segment (after a whole build)
        self.kept = None   # a kept copy's state as its last process left it, until checked against the catalogue
        self._identity = None   # (catalogue database oid, the copy's schema) a kept copy records, read once
        found = self._slot is not None and self.path.exists()
        self._writer, problem = None, None
        try:
            self._writer = _open(self.path, migrate=True)
            self.kept = _kept_state(self._writer) if found else None
            if found and self.kept is None:
                problem = "it records no state this Khlang can trust (never saved, or by other migrations)"
        except sqlite3.DatabaseError as e:
            problem = str(e)   # a kept copy the machine lost power under (it is written without fsync)
        if problem:
            log.warning("the kept search index copy %s is not used (%s): building it again", self.path, problem)
            if self._writer is not None:
                self._writer.close()
            for leftover in self.folder.glob("search.sqlite*"):
                leftover.unlink()
            self._writer = _open(self.path, migrate=True)
        self._write = threading.Lock()
        self._readers = LitePool(str(self.path))   # the warmest page cache first, as a SQLite catalogue's
        if self.kept is not None:
            self.max_doc, self.drop_seq, self.docs = self.kept["max_doc"], self.kept["drop_seq"], self.kept["docs"]
            self.merged = bool(self.kept["merged"])

    def at(self, pg, generation):
        """A read connection to the copy holding at least `generation` (caught up now if a few entries are
        missing), or None while it is being built; given back with give()."""
        if self.generation is not None and self.generation >= generation:
            return self._readers.take()
        with self._write:
            if self.generation is not None and self.generation >= generation:
                return self._readers.take()
            if self.building:
                return None
            self._check_kept(pg)
            missing = pg.execute("SELECT count(*) FROM search_docs WHERE doc_id > ?", (self.max_doc,)).fetchone()[0]
            if missing > INLINE_MAX:
                self._build_in_background()
                return None
            self._catch_up(pg)
        return self._readers.take()

    def give(self, conn):
        """Give back a read connection at() gave."""
        self._readers.give(conn)

    def _build_in_background(self):
        self.building = True
        threading.Thread(target=self._build, name="khlang-search-replica", daemon=True).start()

    def _build(self):
        """Copy many entries with a connection of its own (not taken from the node's pool), then catch up."""
        try:
            started = time.perf_counter()
            pg = connect(self.url, migrate=False)
            try:
                with self._write:
                    self._check_kept(pg)
                    self._catch_up(pg, whole_build=True)
            finally:
                pg.close()
            log.info("search index copy built: %d entries in %.1f s", self.docs, time.perf_counter() - started)
        except Exception:   # the node keeps searching PostgreSQL; the next search tries again
            log.exception("building the search index copy failed")
        finally:
            self.building = False

    def _check_kept(self, pg):
        """Start a kept copy again from nothing if it is not this catalogue's as it is now."""
        if self.kept is not None and not _still_valid(self._writer, pg, self.kept):
            log.info("the kept search index copy is not this catalogue's as it is now: building it again")
            self._reset()

    def _catch_up(self, pg, whole_build=False):
        """Bring the copy to the catalogue's current generation, reading one snapshot of it. A whole build
        (whole_build: many entries, nobody searching the copy yet) commits batch by batch, is checked against the
        catalogue's entry count, and is merged before use."""
        with pg.snapshot():
            generation = pg.execute("SELECT generation FROM search_generation WHERE id = 1").fetchone()[0]
            seq = pg.execute("SELECT COALESCE(max(seq), 0) FROM search_drops").fetchone()[0]
            dropped = [r[0] for r in pg.execute("SELECT doc_id FROM search_drops WHERE seq > ? AND doc_id <= ?",
                                                (self.drop_seq, self.max_doc))]
            rep = self._writer
            rep.execute("BEGIN IMMEDIATE")
            added = 0
            try:
                self.docs -= _drop(rep, dropped)
                while True:
                    docs = pg.execute(f"SELECT {DOC_COLUMNS} FROM search_docs WHERE doc_id > ? ORDER BY doc_id LIMIT ?",
                                      (self.max_doc, BATCH)).fetchall()
                    if not docs:
                        break
                    _add(rep, pg, [tuple(d) for d in docs])
                    self.max_doc, self.docs, added = docs[-1][0], self.docs + len(docs), added + len(docs)
                    if whole_build:   # nobody reads a copy being built: keep its transactions small
                        # Past INLINE_MAX entries the new segments are worth merging (below), even after a kill.
                        self._save(rep, pg, generation, seq, merged=self.merged and added <= INLINE_MAX)
                        rep.execute("COMMIT")
                        rep.execute("BEGIN IMMEDIATE")
                # The copy names the catalogue generation it holds, as a catalogue does (what searches key on).
                rep.execute("UPDATE search_generation SET generation = ? WHERE id = 1", (generation,))
                self._save(rep, pg, generation, seq)
                rep.execute("COMMIT")
            except BaseException:
                rep.execute("ROLLBACK")
                self.generation = None   # half caught up: build it again from nothing
                self._reset()
                raise
            # A whole build, and a kept copy's first catch-up, are checked against the catalogue (a count of every
            # entry: not on each catch-up).
            checked = whole_build or self.kept is not None
            total = pg.execute("SELECT count(*) FROM search_docs").fetchone()[0] if checked else self.docs
            self.kept = None
        if total != self.docs:
            # Cannot happen while doc_ids grow in commit order; if it does, the copy is not trusted.
            log.error("search index copy holds %d entries, the catalogue %d: rebuilding it", self.docs, total)
            self._reset()
            return
        if whole_build and (added > INLINE_MAX or not self.merged):
            # Built batch by batch, each full-text index is many small segments: merged into one before any search
            # uses the copy, a search reads one b-tree per term (the bench's Thai queries: p50 14.8 → 9.3 ms at
            # 100,000 entries, for 4 s of merging).
            for table, _columns in FTS:
                self._writer.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
            # The merge leaves the new b-trees in the write-ahead log (200 MB at 100,000 entries), which every
            # read would look up page by page (searches 18 → 10 ms): written into the file before any search.
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._save(self._writer, pg, generation, seq, merged=True)
        self.drop_seq, self.generation = seq, generation

    def _reset(self):
        for table in ("search_terms", "search_doc_facets", "search_facet_counts", "search_docs") + \
                tuple(t for t, _ in FTS):
            self._writer.execute(f"DELETE FROM {table}")
        self._writer.execute("UPDATE search_generation SET public_docs = 0 WHERE id = 1")
        self._writer.execute("DELETE FROM site_meta WHERE key = ?", (STATE_KEY,))
        self.generation, self.max_doc, self.drop_seq, self.docs, self.kept, self.merged = None, 0, 0, 0, None, False

    def _save(self, rep, pg, generation, drop_seq, merged=None):
        """Record in a kept copy, in its open transaction if any, what it holds (read back by the next process)."""
        if self._slot is None:
            return
        if merged is not None:
            self.merged = merged
        if self._identity is None:   # neither changes while the process runs: not read again on every catch-up
            self._identity = (_database_id(pg), _schema(rep))
        database, schema = self._identity
        sitemeta.put(rep, STATE_KEY, json.dumps({
            "database": database, "schema": schema, "generation": generation, "max_doc": self.max_doc,
            "drop_seq": drop_seq, "docs": self.docs, "merged": self.merged}))

    def stats(self):
        """(entries held, whether searches use it)."""
        return self.docs, self.generation is not None

    def close(self):
        self._readers.close()
        self._writer.close()
        if self._slot is None:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            self._slot.close()   # a kept copy stays for the next process, its slot free


SLOTS = 16   # processes on one machine that may each keep a copy of one catalogue
STATE_KEY = "search_copy"   # where a kept copy records what it holds: in its own site_meta, as JSON


def _take_slot(folder, url):
    """The lock file of the first free slot for a copy of this catalogue under `folder` (held until closed), or
    None when every slot is taken: two nodes on one machine each keep their own copy."""
    name = hashlib.sha256(database_label(url).encode()).hexdigest()[:16]
    for slot in range(SLOTS):
        where = folder / f"khlang-search-copy-{name}-{slot}"
        where.mkdir(parents=True, exist_ok=True)
        lock = open(where / "lock", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock
        except BlockingIOError:
            lock.close()
    return None


def _database_id(pg):
    return str(pg.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0])


def _schema(rep):
    return rep.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]


def _kept_state(rep):
    """What a kept copy holds, as its last process saved it, or None (never saved, or saved by a Khlang whose
    migrations differ: its entries may not be what this one's would be)."""
    saved = sitemeta.get(rep, STATE_KEY)
    state = json.loads(saved) if saved else {}
    keys = ("database", "schema", "generation", "max_doc", "drop_seq", "docs", "merged")
    if any(k not in state for k in keys) or state["schema"] != _schema(rep):
        return None
    return state


def _still_valid(rep, pg, kept):
    """Whether a kept copy's entries are still this catalogue's: the same database, not behind its generation or
    its drops (a catalogue restored or made anew is), and its first and last entries the catalogue's own or
    dropped since (same entry number, same dataset)."""
    if _database_id(pg) != kept["database"]:
        return False
    if pg.execute("SELECT generation FROM search_generation WHERE id = 1").fetchone()[0] < kept["generation"]:
        return False
    if pg.execute("SELECT COALESCE(max(seq), 0) FROM search_drops").fetchone()[0] < kept["drop_seq"]:
        return False
    ends = "(SELECT min(doc_id) FROM search_docs), (SELECT max(doc_id) FROM search_docs)"
    for doc_id, package_id in rep.execute(f"SELECT doc_id, package_id FROM search_docs WHERE doc_id IN ({ends})"):
        row = pg.execute("SELECT package_id FROM search_docs WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is not None:
            if row[0] != package_id:
                return False
        elif pg.execute("SELECT 1 FROM search_drops WHERE doc_id = ? AND seq > ?",
                        (doc_id, kept["drop_seq"])).fetchone() is None:
            return False
    return True


def _open(path, migrate):
    conn = connect(str(path), migrate=migrate)
    # The copy is derived data, rebuilt by every new process: no foreign keys (the packages are not in it),
    # and no fsync.
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def _drop(rep, doc_ids):
    """Remove the copy's entries among doc_ids as the catalogue removed them (searchindex.drop, which keeps the
    facet and public counts); returns how many it held."""
    held = 0
    for doc_id in doc_ids:
        # The copy keeps no vocabulary, so no words are uncounted.
        row = rep.execute("SELECT doc_id, state, private, text, title_words, '' FROM search_docs WHERE doc_id = ?",
                          (doc_id,)).fetchone()
        if row is not None:
            drop(rep, row)
            held += 1
    return held


def _add(rep, pg, docs):
    """Copy the entries of `docs` (search_docs rows, doc_id first) from the catalogue into the copy."""
    lo, hi = docs[0][0], docs[-1][0]
    marks = ",".join("?" * len(DOC_COLUMNS.split(",")))
    rep.executemany(f"INSERT INTO search_docs ({DOC_COLUMNS}) VALUES ({marks})", docs)
    terms = [tuple(r) for r in pg.execute("SELECT doc_id, field, value FROM search_terms "
                                          "WHERE doc_id >= ? AND doc_id <= ?", (lo, hi))]
    rep.executemany("INSERT INTO search_terms (doc_id, field, value) VALUES (?, ?, ?)", terms)
    by_doc = {}
    for doc_id, field, value in terms:
        by_doc.setdefault(doc_id, []).append((field, value))
    pack(rep, by_doc)   # the copy numbers the facet values its own way
    # The public facet counts, as the catalogue keeps them: active public entries only.
    counted = {d[0] for d in docs if d[7] == "active" and not d[6]}
    counts = Counter((field, value) for doc_id, field, value in terms if doc_id in counted)
    rep.executemany("INSERT INTO search_facet_counts (field, value, n) VALUES (?, ?, ?) "
                    "ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n",
                    [(f, v, n) for (f, v), n in counts.items()])
    rep.execute("UPDATE search_generation SET public_docs = public_docs + ? WHERE id = 1", (len(counted),))
    for table, columns in FTS:
        rows = pg.execute(f"SELECT rowid, {columns} FROM {table} WHERE rowid >= ? AND rowid <= ?", (lo, hi))
        marks = ",".join("?" * (1 + len(columns.split(","))))
        rep.executemany(f"INSERT INTO {table} (rowid, {columns}) VALUES ({marks})", [tuple(r) for r in rows])


_replicas = {}
_replicas_lock = threading.Lock()


@contextmanager
def searcher(db, generation, enabled=True, keep_in=""):
    """The connection a search at `generation` should run on, for the `with` block: for a catalogue on
    PostgreSQL, a read connection to this node's copy of the index once it holds that generation; otherwise
    (SQLite, a writing transaction, a copy still being built, or turned off) db itself. With `keep_in` (a local
    folder), the copy is kept there for the node's next process (KHLANG_SEARCH_COPY_DIR)."""
    replica = _replica(db.url, keep_in) if enabled and dialect(db) == "postgresql" and not db.in_transaction else None
    conn = replica.at(db, generation) if replica else None
    if conn is None:
        yield db
        return
    try:
        yield conn
    finally:
        replica.give(conn)


def _replica(url, keep_in=""):
    with _replicas_lock:
        replica = _replicas.get(url)
        if replica is None:
            replica = _replicas[url] = Replica(url, keep_in)
        return replica


def warm(url, keep_in=""):
    """Start building this process's copy of a PostgreSQL catalogue's index now (a node starting), so its first
    searches need not run on PostgreSQL; a copy kept in `keep_in` by the node's last process is caught up
    instead."""
    replica = _replica(url, keep_in)
    with replica._write:
        if replica.generation is None and not replica.building:
            replica._build_in_background()


def replica_stats():
    """{catalogue url: (entries held, whether searches use it)} of this process's copies."""
    with _replicas_lock:
        return {url: r.stats() for url, r in _replicas.items()}


@atexit.register
def close_all():
    """Remove this process's copies (their files are in temporary folders)."""
    with _replicas_lock:
        for r in _replicas.values():
            r.close()
        _replicas.clear()

