"""DataStore tables as immutable Parquet files read and written by DuckDB.

Each process holds a writer DuckDB connection (our own SQL only, may touch temp files) and two readers locked
down to the Parquet folder and the pipes that downloads are written into (no other files, no extensions,
settings locked): one from which every request and every user SQL query takes its own cursor, and one that runs
a query on one thread, for downloads.
"""
import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

from ..errors import StorageFull, is_write_failure

CKAN_TYPES = {
    "text": "VARCHAR", "string": "VARCHAR", "varchar": "VARCHAR",
    "int": "BIGINT", "int4": "BIGINT", "int8": "BIGINT", "integer": "BIGINT", "bigint": "BIGINT",
    "numeric": "DECIMAL(38,6)", "number": "DECIMAL(38,6)", "float": "DOUBLE", "float8": "DOUBLE", "double": "DOUBLE",
    "bool": "BOOLEAN", "boolean": "BOOLEAN", "date": "DATE", "time": "TIME",
    "timestamp": "TIMESTAMP", "datetime": "TIMESTAMP", "json": "JSON", "_text": "VARCHAR[]", "_int": "BIGINT[]",
    "_numeric": "DOUBLE[]",
}
CANONICAL = {"VARCHAR": "text", "BIGINT": "int", "DECIMAL(38,6)": "numeric", "DOUBLE": "float", "BOOLEAN": "bool",
             "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "JSON": "json", "VARCHAR[]": "_text",
             "BIGINT[]": "_int", "DOUBLE[]": "_numeric"}
ROW_GROUP_ROWS = 16384
READER_MEMORY = "256MB"
_lock = threading.Lock()
_conns = {}


def reader_memory():
    """The memory each reader may use, in bytes (READER_MEMORY)."""
    return int(READER_MEMORY.removesuffix("MB")) * 1024 * 1024


def parquet_dir(settings):
    """Folder of every DataStore version file."""
    return Path(settings.storage_dir).resolve() / "parquet"


def parquet_path(settings, sha256):
    """Where a version file with this sha256 lives."""
    return parquet_dir(settings) / sha256[:2] / f"{sha256}.parquet"


def duck_type(ckan_type):
    """DuckDB column type for a CKAN DataStore type name (None if unknown)."""
    return CKAN_TYPES.get(str(ckan_type or "").lower())


def ckan_type(duck):
    """CKAN DataStore type name for a DuckDB column type."""
    duck = str(duck).upper()
    if duck.startswith("DECIMAL"):
        return "numeric"
    if duck in ("INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return "int"
    if duck in ("FLOAT", "REAL"):
        return "float"
    if duck.startswith("TIMESTAMP"):
        return "timestamp"
    return CANONICAL.get(duck, "text")


def _connections(settings):
    key = str(parquet_dir(settings))
    with _lock:
        conns = _conns.get(key)
        if conns is None:
            import duckdb   # 65 ms: on the first query, not in every command's and server's start
            parquet_dir(settings).mkdir(parents=True, exist_ok=True)
            # DuckDB's allocator gives freed memory back to the system from threads of its own: without them most
            # of a download's memory stayed until the next query (bench/export_bench.py, a million rows: the
            # server two seconds after each download 204-307 MB without them, 175-226 MB with them).
            cfg = {"autoload_known_extensions": False, "autoinstall_known_extensions": False,
                   "allocator_background_threads": True}
            writer = duckdb.connect(config={**cfg, "threads": 2})
            # Each reader has a bounded buffer pool: a sorted download of a million rows spills to a local
            # folder instead of growing the server by the table's size.
            # A spill folder per process: DuckDB's own file names in it would collide between processes.
            spill = os.path.join(tempfile.gettempdir(), f"khlang-duckdb-{os.getpid()}")
            atexit.register(shutil.rmtree, spill, True)
            pipes = os.path.join(spill, "pipes")
            os.makedirs(pipes, mode=0o700, exist_ok=True)
            reader = _locked(duckdb, {**cfg, "threads": 2, "temp_directory": spill}, key, pipes)
            # Two threads writing one download in order hold every line one of them is ahead by: a JSON, XML
            # or sheet download of a million rows took 170-260 MB that way, 30-50 MB on one thread, in about
            # the same time (its own folder: the two databases' spill files would collide).
            one_spill = os.path.join(spill, "one-thread")
            os.makedirs(one_spill, mode=0o700, exist_ok=True)
            one_thread = _locked(duckdb, {**cfg, "threads": 1, "temp_directory": one_spill}, key, pipes)
            conns = _conns[key] = (writer, reader, pipes, one_thread)
        return conns


def _locked(duckdb, cfg, key, pipes):
    """A reader database locked down to the Parquet folder and the pipes folder (no other files, no extensions,
    settings locked)."""
    reader = duckdb.connect(config={**cfg, "memory_limit": READER_MEMORY})
    # Version files never change once written (content-addressed): their footers can be kept. GLOBAL: a plain SET
    # holds for the connection that ran it only, not for the cursors requests use, which read every footer again
    # (a filtered page and its count of 1,000,000 rows took 2.1 ms for the count alone, 1.2 ms with the cache).
    reader.execute("SET GLOBAL parquet_metadata_cache = true")
    reader.execute(f"SET allowed_directories = ['{key}/', '{pipes}/']")
    reader.execute("SET enable_external_access = false")
    reader.execute("SET lock_configuration = true")
    return reader


def reader(settings):
    """A new cursor on this process's locked-down reader connection (one per request)."""
    return _connections(settings)[1].cursor()


def one_thread_reader(settings):
    """A new cursor on the locked-down reader that runs each query on one thread (the downloads that
    exports.download sends there)."""
    return _connections(settings)[3].cursor()


def pipes_folder(settings):
    """The one folder besides the Parquet folder that the reader may write to (sqlguard keeps user SQL off
    paths): downloads' named pipes."""
    return _connections(settings)[2]


def pipe(settings):
    """The path of a new named pipe, which a download's COPY writes into while the response reads it."""
    path = os.path.join(pipes_folder(settings), f"{os.urandom(16).hex()}.pipe")
    os.mkfifo(path, 0o600)
    return path


def writer(settings):
    """A new cursor on this process's writer connection (our own SQL only)."""
    return _connections(settings)[0].cursor()


def scan(settings, sha256):
    """SQL text reading one version file (path from our own sha256, never from a request)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("bad version file id")
    return f"read_parquet('{parquet_path(settings, sha256)}')"


def write_version(settings, cur, select_sql, params=(), ordered=False):
    """Run `select_sql` (its first column `_id`) into a new Parquet file; returns (sha256, rows).

    `ordered=True` says the rows already come in `_id` order (a scan in file order), sparing a sort."""
    out_dir = parquet_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".load-{os.getpid()}-", suffix=".parquet")
    os.close(fd)
    try:
        order = "" if ordered else " ORDER BY _id"
        cur.execute(f"COPY ({select_sql}{order}) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS}, "
                    f"COMPRESSION zstd)", list(params))
        rows = cur.execute(f"SELECT count(*) FROM read_parquet('{tmp}')").fetchone()[0]
        digest = hashlib.sha256()
        with open(tmp, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        final = parquet_path(settings, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, Exception) and is_write_failure(exc):
            raise StorageFull(f"The new version could not be written: {str(exc).splitlines()[0]}") from None
        raise
    return sha, rows


def quote_ident(identifier):
    """A column name as a quoted SQL identifier."""
    return '"' + str(identifier).replace('"', '""') + '"'


def order_by(keys):
    """ORDER BY text of (column name, ASC or DESC) keys."""
    return ", ".join(f"{quote_ident(name)} {direction}" for name, direction in keys)


def sort_key(keys):
    """SQL of one value that orders rows as ORDER BY the (column SQL, ASC or DESC) `keys` does, NULLs last as
    DuckDB puts them by default: DuckDB's create_sort_key, for min_by and for comparing keys with < and >."""
    return "create_sort_key(" + ", ".join(f"{column}, '{direction} NULLS LAST'" for column, direction in keys) + ")"


def columns_table(cur, name, columns):
    """Python lists as the columns of a new temporary table `name` on `cur` (in their order): each list is bound
    as one LIST value and unnested beside the others, so no value is spelled into SQL and no row is inserted
    alone. `columns` maps each column's name to (values, DuckDB type, or None to let DuckDB choose)."""
    cells = [f"unnest(?{'::' + kind + '[]' if kind else ''}) AS {quote_ident(column)}"
             for column, (_, kind) in columns.items()]
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS SELECT {', '.join(cells)}",
                [values for values, _ in columns.values()])


def write_clustered(settings, cur, sha256, columns):
    """Write a copy of version `sha256` ordered by `columns` then `_id`; returns its sha256.

    Rows with equal values of the columns then sit together, in a few row groups whose statistics let a filter on
    them skip the rest of the file."""
    keys = ", ".join(quote_ident(c) for c in columns)
    sha, _ = write_version(settings, cur, f"SELECT * FROM {scan(settings, sha256)} ORDER BY {keys}, _id", ordered=True)
    return sha


def jsonable(value):
    """A DuckDB value as JSON-friendly Python (Decimal to int/float, dates to ISO strings)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
