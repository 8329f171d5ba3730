"""PostgreSQL catalogue connections that take the store's SQL as written for SQLite.

The store writes one dialect: `?` placeholders, `BEGIN IMMEDIATE`, `temp.` tables, `group_concat`, `IN (?, ?)`
lists, rows read by name or position. A connection here translates those few spellings (cached per statement)
and nothing else; what differs in meaning (full-text search, migrations' DDL) is decided where it is written."""
import re
import select
import threading
from contextlib import contextmanager
from functools import lru_cache

import psycopg
import psycopg_pool
from psycopg import adapt
from psycopg.pq import TransactionStatus

from ..settings import SettingError, database_label

# Every write transaction takes this advisory lock first: writers queue as they do on SQLite (one at a
# time, across every node), so the store's read-then-write steps keep the meaning they have there.
WRITE_LOCK = 0x6B686C616E67   # "khlang"
MIGRATE_LOCK = WRITE_LOCK + 1


class Row:
    """A result row read like sqlite3.Row: by position, by column name, `keys()`, `dict(row)`."""

    __slots__ = ("_values", "_index")

    def __init__(self, values, index):
        self._values = values
        self._index = index

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self):
        return list(self._index)

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __eq__(self, other):
        return tuple(self._values) == tuple(other)

    def __hash__(self):
        return hash(tuple(self._values))

    def __repr__(self):
        return f"Row{tuple(self._values)!r}"


def _row_factory(cursor):
    desc = cursor.description
    if desc is None:
        return tuple
    index = {c.name: i for i, c in enumerate(desc)}
    return lambda values: Row(values, index)


class _NumericLoader(adapt.Loader):
    # sum() and avg() of integers come back as numeric; SQLite gives int or float, and JSON takes those.
    def load(self, data):
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


_QUOTED = re.compile(r"('(?:[^']|'')*')")


@lru_cache(maxsize=4096)
def translate(sql, with_params):
    """The store's SQLite spelling of one statement in PostgreSQL's, for psycopg."""
    stripped = sql.lstrip().upper()
    if stripped.startswith("BEGIN"):
        return "BEGIN"
    out = []
    for i, part in enumerate(_QUOTED.split(sql)):
        if with_params:
            part = part.replace("%", "%%")
        if i % 2 == 0:   # outside string literals
            part = re.sub(r"\btemp\.", "pg_temp.", part)
            part = re.sub(r"\bLIKE\b", "ILIKE", part)   # SQLite's LIKE ignores ASCII case
            part = re.sub(r"\bgroup_concat\(", "string_agg(", part)   # the store always names the separator
            if with_params:
                part = part.replace("?", "%s")
        out.append(part)
    return "".join(out)


_IN_LIST = re.compile(r"\b(NOT\s+)?IN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.I)


@lru_cache(maxsize=4096)
def _as_arrays(sql):
    """The statement with each `IN (?, ?, ...)` list as one array parameter (`= ANY(?)`, `<> ALL(?)` for NOT IN),
    and where those lists' parameters are ((first, count), ...); None if it has no such list."""
    out, groups, seen = [], [], 0
    for i, part in enumerate(_QUOTED.split(sql)):
        if i % 2 == 0:   # outside string literals
            pieces, at = [], 0
            for m in _IN_LIST.finditer(part):
                pieces.append(part[at:m.start()])
                seen += part.count("?", at, m.start())
                count = m.group(0).count("?")
                groups.append((seen, count))
                seen += count
                pieces.append("<> ALL(?)" if m.group(1) else "= ANY(?)")
                at = m.end()
            seen += part.count("?", at)
            part = "".join(pieces) + part[at:]
        out.append(part)
    return ("".join(out), tuple(groups)) if groups else None


def _arrays(sql, params):
    """(sql, params) with the store's `IN (?, ?, ...)` lists bound as one array each: one statement text whatever
    a list's length, so psycopg converts it once (it does not cache statements of over 50 parameters) and
    PostgreSQL can prepare it: a search page of 100 datasets took 14.9 ms as lists, 12.2 ms as arrays (10,000
    datasets, in-process). A list of mixed Python types, which psycopg cannot send as one array, stays a list."""
    packed = _as_arrays(sql)
    if packed is None:
        return sql, params
    out, at = [], 0
    for first, count in packed[1]:
        values = params[first:first + count]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) != 1:
            return sql, params
        out += params[at:first]
        out.append(values)
        at = first + count
    return packed[0], out + params[at:]


# autocommit: the store issues BEGIN itself, as it does on SQLite (isolation_level=None).
# random_page_cost 1.1: the catalogue is small and cached; at the default (4, for spinning disks) the planner
# reads every row for a common Thai word (90 ms at 10,000 datasets) instead of its trigram index (20 ms).
_OPTIONS = {"autocommit": True, "connect_timeout": 10, "application_name": "khlang",
            "options": "-c random_page_cost=1.1"}


def _configure(raw):
    raw.row_factory = _row_factory
    raw.adapters.register_loader("numeric", _NumericLoader)


class Connection:
    """A PostgreSQL catalogue connection with the sqlite3.Connection calls the store uses."""

    dialect = "postgresql"

    def __init__(self, url, raw=None):
        self.url = url
        if raw is None:
            raw = psycopg.connect(url.strip(), **_OPTIONS)
            _configure(raw)
        self._conn = raw
        self._lock = threading.RLock()

    def execute(self, sql, params=None):
        """Run one statement; a BEGIN also takes the catalogue's write lock."""
        params = list(params) if params is not None else None
        if params:
            sql, params = _arrays(sql, params)
        text = translate(sql, bool(params))
        with self._lock:
            cur = self._conn.cursor()
            cur.execute(text, params or None)
            if text == "BEGIN":
                try:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            return cur

    def executemany(self, sql, seq):
        """Run one statement once per parameter row."""
        seq = [list(p) for p in seq]
        if not seq:
            return None
        with self._lock:
            cur = self._conn.cursor()
            cur.executemany(translate(sql, True), seq)
            return cur

    def copy_rows(self, table, columns, rows):
        """Write many rows into a table with COPY (the bulk path); returns how many."""
        n = 0
        with self._lock, self._conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(row))
                    n += 1
        return n

    @contextmanager
    def pipeline(self):
        """Statements run inside are sent together and their results read after (one round trip)."""
        with self._lock, self._conn.pipeline():
            yield self

    @property
    def in_transaction(self):
        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def commit(self):
        if self.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self):
        if self.in_transaction:
            self._conn.execute("ROLLBACK")

    @contextmanager
    def snapshot(self):
        """A repeatable-read transaction whose snapshot pg_dump can share (its id): what is read inside it and
        what pg_dump --snapshot writes are the same moment of the catalogue."""
        with self._lock:
            self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")   # no write lock: it only reads
            try:
                yield self._conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            finally:
                self._conn.execute("COMMIT")

    def close(self):
        self._conn.close()

    @property
    def closed(self):
        """True once closed, or broken (the server went away): the caller opens a new connection."""
        return self._conn is None or self._conn.closed or self._conn.broken


def connect(url):
    """Open a connection, or SettingError naming what is wrong (unreachable, refused, no such database)."""
    try:
        return Connection(url)
    except psycopg.OperationalError as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise SettingError(f"KHLANG_DB: cannot open the PostgreSQL catalogue {database_label(url)}: {reason}") from None


class Pool:
    """A node's PostgreSQL connections (psycopg_pool): each request takes one and gives it back, so a node
    holds at most `size` connections however many threads it runs, and a connection the server dropped (a
    restart, an idle timeout) is found by a check when taken and replaced instead of failing a request."""

    def __init__(self, url, size):
        self.url = url
        self._pool = psycopg_pool.ConnectionPool(
            url.strip(), min_size=1, max_size=max(1, size), kwargs=_OPTIONS, configure=_configure,
            check=_check_idle, timeout=30, name="khlang", open=False)
        try:
            self._pool.open(wait=True, timeout=15)
        except psycopg_pool.PoolTimeout:
            self._pool.close()
            connect(url).close()   # says why in one line (SettingError), as a single connection would
            raise

    def take(self):
        """A connection of the pool's, for one request (waits up to 30 s when all are in use)."""
        return Connection(self.url, self._pool.getconn())

    def give(self, conn):
        """Give a taken connection back, rolled back if a transaction was left open."""
        raw, conn._conn = conn._conn, None
        if not raw.closed and not raw.broken and raw.info.transaction_status != TransactionStatus.IDLE:
            try:
                raw.execute("ROLLBACK")
            except psycopg.Error:
                pass   # the pool discards a broken connection
        self._pool.putconn(raw)

    def stats(self):
        """The pool's counters (psycopg_pool's get_stats): connections open, in use, requests waiting."""
        return self._pool.get_stats()

    def close(self):
        self._pool.close()


def _check_idle(raw):
    """The pool's check of a connection it hands out: a round trip only if the server has said something since the
    connection was last used. A server that closes an idle connection (a restart, an idle timeout, its process
    killed) sends its last message or ends the stream, and either leaves something to read; an idle connection
    left as its last request left it has nothing to read. psycopg_pool's own check made a round trip on every take:
    0.25-0.34 ms of each search on a node."""
    if raw.closed or raw.broken or select.select([raw.fileno()], [], [], 0)[0]:
        psycopg_pool.ConnectionPool.check_connection(raw)


def program(name):
    """The path of one of PostgreSQL's programs (pg_dump, pg_restore): on PATH, else the newest of Debian's."""
    # The programs are looked for only by backup and restore.
    import glob
    import shutil

    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise FileNotFoundError(f"{name} is not installed (Debian's postgresql-client)")
    return candidates[-1]


def ddl(sql):
    """One migration statement, written for SQLite, in PostgreSQL's terms."""
    fts = re.match(r"CREATE VIRTUAL TABLE (\w+) USING fts5\(([^)]*)\)", sql.strip(), re.S)
    if fts:
        # The FTS5 tables become plain tables: the text stays, searched by pg_trgm (catalog/store/textmatch.py).
        name, args = fts.groups()
        cols = [a.strip() for a in args.split(",") if "=" not in a]
        alltext = " || ' | ' || ".join(cols)
        return (f"CREATE TABLE {name} (rowid BIGINT PRIMARY KEY, "
                + ", ".join(f"{c} TEXT NOT NULL DEFAULT ''" for c in cols)
                + f", alltext TEXT GENERATED ALWAYS AS (' ' || {alltext} || ' ') STORED)")
    sql = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    # A backfill's SQLite functions, as PostgreSQL names them.
    sql = re.sub(r"\bgroup_concat\(", "string_agg(", sql)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)


def lock_migrations(conn):
    """Hold the migration lock for this session: one node migrates, the others wait and find it done."""
    conn.execute("SELECT pg_advisory_lock(?)", (MIGRATE_LOCK,))


def unlock_migrations(conn):
    conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATE_LOCK,))
