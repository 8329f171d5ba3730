"""The catalogue's database: connections (SQLite with WAL, or PostgreSQL), versioned migrations, transactions."""
import hashlib
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..settings import SettingError, database_problem, is_postgresql

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30000
_migrate_lock = threading.Lock()


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Khlang than this one: refuse to touch it."""


def connect(path, *, migrate=True):
    """Open the catalogue database (a SQLite file with WAL, foreign keys and a busy timeout, or a
    postgresql:// URL); migrate it."""
    path = str(path)
    if is_postgresql(path):
        problem = database_problem(path)
        if problem:
            raise SettingError(f"KHLANG_DB: {problem}")
        from . import pg   # psycopg is loaded only by catalogues on PostgreSQL
        conn = pg.connect(path)
        if migrate:
            migrate_db(conn)
        return conn
    if path != ":memory:":
        problem = database_problem(path)
        if problem or path.startswith("sqlite:"):   # a URL reaching here was not read through Settings
            raise SettingError(f"KHLANG_DB: {problem or 'give the file path, not a URL'}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN ourselves so writes take the lock up front (IMMEDIATE).
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA mmap_size = 268435456")
    if migrate:
        migrate_db(conn)
    return conn


_pools = {}
_pools_lock = threading.Lock()


def pool(path, size):
    """The process's shared pool of connections to this catalogue (made on first use): PostgreSQL's holds at most
    `size`; a SQLite file's (LitePool) as many as requests run at once."""
    path = str(path)
    with _pools_lock:
        found = _pools.get(path)
        if found is None:
            if not is_postgresql(path):
                found = _pools[path] = LitePool(path)
                return found
            problem = database_problem(path)
            if problem:
                raise SettingError(f"KHLANG_DB: {problem}")
            from . import pg   # psycopg is loaded only by catalogues on PostgreSQL
            found = _pools[path] = pg.Pool(path, size)
        return found


class LitePool:
    """A SQLite file's connections, each request taking the one given back last. SQLite keeps a page cache per
    connection: with one connection per server thread (8), sequential searches met a cold cache most of the time
    (a Thai search over 100,000 datasets 19 ms instead of 10); the last-used one is the warmest."""

    def __init__(self, path):
        self.path = path
        self._idle = []
        self._lock = threading.Lock()
        self._made = 0

    def take(self):
        """The connection given back last, or a new one when every one is in use."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self._made += 1
        return connect(self.path, migrate=False)

    def give(self, conn):
        """Give a taken connection back, rolled back if a transaction was left open."""
        abandon(conn)
        with self._lock:
            self._idle.append(conn)

    def stats(self):
        """Counters named as psycopg_pool's: connections open, idle, requests waiting (none: never a wait)."""
        with self._lock:
            return {"pool_size": self._made, "pool_available": len(self._idle), "requests_waiting": 0}

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def dialect(conn):
    """"sqlite" or "postgresql": the few places whose SQL differs in meaning ask this."""
    return getattr(conn, "dialect", "sqlite")


def migrations():
    """The ordered list of (version, sql) migrations shipped with the code."""
    out = []
    for f in sorted(MIGRATIONS_DIR.glob("*.sql")):
        out.append((int(f.name.split("_", 1)[0]), f.read_text(encoding="utf-8")))
    return out


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds")


def schema_version(conn):
    """The highest applied migration, 0 for a new database."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return row[0] or 0


def versions(conn):
    """{"catalogue": its migration, component: its migration, ...} of a migrated database."""
    out = {"catalogue": schema_version(conn)}
    if _components:
        out.update({component: 0 for component in sorted(_components)})
        out.update({r[0]: r[1] for r in conn.execute(
            "SELECT component, MAX(version) FROM component_migrations GROUP BY component")})
    return out


def register_migrations(component, folder):
    """Let a part above the catalogue (spending) keep its own tables in this database, created by its own
    numbered migrations in `folder`; they run after the catalogue's, tracked per component."""
    _components[component] = Path(folder)


_components = {}


def migrate_db(conn):
    """Apply every migration newer than the database (the catalogue's, then each component's), each in its own
    transaction."""
    with _migrate_lock:
        if dialect(conn) == "postgresql":
            from . import pg   # only PostgreSQL catalogues get here
            pg.lock_migrations(conn)
            try:
                return _migrate(conn)
            finally:
                pg.unlock_migrations(conn)
        return _migrate(conn)


def _migrate(conn):
    current = schema_version(conn)
    shipped = migrations()
    newest = max((v for v, _ in shipped), default=0)
    if current > newest:
        raise SchemaTooNew(f"the catalogue is at migration {current}, newer than this Khlang knows ({newest}); "
                           "run the Khlang version that migrated it, or a newer one")
    for version, sql in shipped:
        if version > current:
            _apply(conn, _backend_sql(conn, sql, MIGRATIONS_DIR, version),
                   "SELECT 1 FROM schema_migrations WHERE version = ?", (version,),
                   "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, _now()))
    if not _components:
        return
    conn.execute("CREATE TABLE IF NOT EXISTS component_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
                 "applied_at TEXT NOT NULL, PRIMARY KEY (component, version))")
    for component, folder in sorted(_components.items()):
        done = {r[0] for r in conn.execute("SELECT version FROM component_migrations WHERE component = ?",
                                           (component,))}
        for f in sorted(folder.glob("*.sql")):
            version = int(f.name.split("_", 1)[0])
            if version not in done:
                _apply(conn, _backend_sql(conn, f.read_text(encoding="utf-8"), folder, version),
                       "SELECT 1 FROM component_migrations WHERE version = ? AND component = ?", (version, component),
                       "INSERT INTO component_migrations (version, component, applied_at) VALUES (?, ?, ?)",
                       (version, component, _now()))


def _backend_sql(conn, sql, folder, version):
    """A migration's statements for this connection's database: as written on SQLite; on PostgreSQL each
    statement's DDL translated, then the statements of `postgresql/<version>_*.sql` if there is one
    (what only PostgreSQL needs: extensions, trigram indexes)."""
    if dialect(conn) != "postgresql":
        return _split_sql(sql)
    from . import pg   # only PostgreSQL catalogues get here
    stmts = [pg.ddl(s) for s in _split_sql(sql)]
    for extra in sorted((Path(folder) / "postgresql").glob(f"{version:04d}_*.sql")):
        stmts += _split_sql(extra.read_text(encoding="utf-8"))
    return stmts


def _apply(conn, stmts, applied_sql, key, record_sql, record):
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        if conn.execute(applied_sql, key).fetchone():
            conn.execute("COMMIT")
            return
        for stmt in stmts:
            conn.execute(stmt)
        conn.execute(record_sql, record)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _split_sql(sql):
    # Migration files hold ';'-terminated statements at line ends; no triggers or procedures.
    stmts = []
    for block in sql.split(";\n"):
        code = "\n".join(l for l in block.splitlines() if not l.strip().startswith("--")).strip().rstrip(";")
        if code:
            stmts.append(code)
    return stmts


@contextmanager
def transaction(conn):
    """A write transaction; nested uses become savepoints so callers can compose actions."""
    if conn.in_transaction:
        name = f"sp_{threading.get_ident()}_{id(conn)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def together(conn):
    """Reads started inside are sent to PostgreSQL together when their results are read after them (psycopg's
    pipeline: one round trip instead of one each); SQLite, in process, runs them as they come."""
    if dialect(conn) == "postgresql":
        with conn.pipeline():
            yield conn
    else:
        yield conn


def abandon(conn):
    """Roll back a transaction a failed request left open, so the pooled connection is clean."""
    if conn.in_transaction:
        conn.rollback()


def database_key(conn):
    """What names this connection's database (its file, or its URL), to keep things per database."""
    if dialect(conn) == "postgresql":
        return conn.url
    return conn.execute("PRAGMA database_list").fetchone()[2]


@contextmanager
def without_waiting(conn):
    """Writes inside fail at once (see is_busy) rather than wait for another writer."""
    if dialect(conn) == "postgresql":
        conn.execute("SET lock_timeout = '1ms'")
        try:
            yield conn
        finally:
            conn.execute("SET lock_timeout = 0")
        return
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        yield conn
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


@contextmanager
def exclusive(conn, name):
    """Held by one process at a time across every node of this catalogue (a PostgreSQL advisory lock, or a
    lock file beside the SQLite database); others wait here. For long work no transaction should hold up."""
    if dialect(conn) == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big")
        conn.execute("SELECT pg_advisory_lock(?)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(?)", (key,))
        return
    import fcntl   # POSIX; the SQLite catalogue runs on one machine

    import tempfile   # an in-memory database has no file to lock beside

    with open(f"{database_key(conn) or Path(tempfile.gettempdir(), 'khlang-memory')}.{name}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def is_busy(error):
    """True when `error` means another writer holds the catalogue (try again later), on either database."""
    if isinstance(error, sqlite3.OperationalError):
        return True
    return type(error).__name__ in ("LockNotAvailable", "QueryCanceled")


def ping(conn):
    """True when the database answers a query."""
    return conn.execute("SELECT 1").fetchone()[0] == 1


def dump(conn, dest_path, read):
    """A consistent pg_dump of a PostgreSQL catalogue at `dest_path`, taken while others keep writing; returns
    read(conn) as seen at the very moment the dump shows."""
    # Only PostgreSQL backups run a program and load psycopg.
    import subprocess
    from . import pg

    with conn.snapshot() as snapshot_id:
        seen = read(conn)
        out = subprocess.run([pg.program("pg_dump"), "--format=custom", "--no-owner", f"--snapshot={snapshot_id}",
                              f"--file={dest_path}", "--dbname", conn.url], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"pg_dump failed: {out.stderr.strip()}")
    return seen


def undump(conn, src_path):
    """Load a dump() into the empty PostgreSQL database of `conn`."""
    # Only PostgreSQL restores run a program and load psycopg.
    import subprocess
    from . import pg

    out = subprocess.run([pg.program("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
                          "--dbname", conn.url, str(src_path)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"pg_restore failed: {out.stderr.strip()}")


def is_empty(conn):
    """True when no catalogue was ever made in this database (no migration applied)."""
    if dialect(conn) == "postgresql":
        return conn.execute("SELECT to_regclass('schema_migrations') IS NULL").fetchone()[0]
    return not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone()


def backup(conn, dest_path):
    """A consistent copy of the whole database at `dest_path`, taken while others keep reading and writing
    (SQLite's online backup: pages copied in steps, restarted when a writer changes one already copied)."""
    dest = sqlite3.connect(str(dest_path))
    try:
        conn.backup(dest, pages=4096)
        dest.execute("PRAGMA journal_mode = WAL")
    finally:
        dest.close()
