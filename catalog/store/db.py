"""SQLite catalogue store: connections, WAL, versioned migrations, transactions."""
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from ..settings import SettingError, database_problem

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30000
_migrate_lock = threading.Lock()


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Khlang than this one: refuse to touch it."""


def connect(path, *, migrate=True):
    """Open the catalogue database with WAL, foreign keys and a busy timeout; migrate it."""
    path = str(path)
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


def migrations():
    """The ordered list of (version, sql) migrations shipped with the code."""
    out = []
    for f in sorted(MIGRATIONS_DIR.glob("*.sql")):
        out.append((int(f.name.split("_", 1)[0]), f.read_text(encoding="utf-8")))
    return out


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
        current = schema_version(conn)
        shipped = migrations()
        newest = max((v for v, _ in shipped), default=0)
        if current > newest:
            raise SchemaTooNew(f"the catalogue is at migration {current}, newer than this Khlang knows ({newest}); "
                               "run the Khlang version that migrated it, or a newer one")
        for version, sql in shipped:
            if version > current:
                _apply(conn, sql, "SELECT 1 FROM schema_migrations WHERE version = ?", (version,),
                       "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%Y-%m-%dT%H:%M:%f', 'now'))")
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
                    _apply(conn, f.read_text(encoding="utf-8"),
                           "SELECT 1 FROM component_migrations WHERE version = ? AND component = ?", (version, component),
                           "INSERT INTO component_migrations (version, component, applied_at) "
                           "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%f', 'now'))")


def _apply(conn, sql, applied_sql, key, record_sql):
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        if conn.execute(applied_sql, key).fetchone():
            conn.execute("COMMIT")
            return
        for stmt in _split_sql(sql):
            conn.execute(stmt)
        conn.execute(record_sql, key)
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


def abandon(conn):
    """Roll back a transaction a failed request left open, so the pooled connection is clean."""
    if conn.in_transaction:
        conn.rollback()


def ping(conn):
    """True when the database answers a query."""
    return conn.execute("SELECT 1").fetchone()[0] == 1


def backup(conn, dest_path):
    """A consistent copy of the whole database at `dest_path`, taken while others keep reading and writing
    (SQLite's online backup: pages copied in steps, restarted when a writer changes one already copied)."""
    dest = sqlite3.connect(str(dest_path))
    try:
        conn.backup(dest, pages=4096)
        dest.execute("PRAGMA journal_mode = WAL")
    finally:
        dest.close()
