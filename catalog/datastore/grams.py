"""Trigram postings of one column of a large DataStore version: the rows a `q` term matches in the column, and
where, without reading the column's text; and a search's count and page answered from them (matches, page).

A `q` tests every row's text: on 1,000,000 Thai contract names, counting a common term's matches took 156-165 ms
of a 183 ms search. For a version of `datastore_gram_rows` rows or more, the first `q` that searches a column (by
name, or over the whole row: every text column) starts writing the column's postings in a child process of its
own, one column at a time (bench/peers_bench.py's names: 15-20 s on two threads, 53 MB, the child's peak RSS 300 MB,
none of it the server's); searches test the text until the file is there.

The postings hold every 3-character piece of each row's lower-cased text with the row's `_id` and the piece's
position, sorted by piece. A term of three or more characters is found where the pieces that cover it sit at
their offsets from one start in one row: that is the term itself, so the answer is exact. The file is derived
from an immutable version file and named by it: written once, never changed, and any node may write it (two at
once write the same rows; the second rename wins).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import tables
from ..thaitext import normalize

GRAM = 3
BUILD_MEMORY = "192MB"   # the same build alone: 256 MB took 14.5 s and a peak of 359 MB, 192 MB 16.5 s and 293 MB
RETRY_AFTER_S = 600      # a build that failed is not started again for this long
# At most this many pieces in one column's postings: 1,000,000 names of 44 characters have 41,727,360, written in
# 53 MB after 2.1 GB spilled to the temporary folder while sorted. A column with more is always tested instead.
MAX_PIECES = 100_000_000
TOO_LARGE = 3            # the child's exit status when the column has more pieces than that
_lock = threading.Lock()
_one_at_a_time = threading.Lock()   # each child peaks at about 300 MB: a process runs one, the others wait their turn
_running, _failed = set(), {}


def path(settings, version_sha, column):
    """Where the postings of one column of version `version_sha` live."""
    return _path(tables.parquet_dir(settings), version_sha, column)


def _path(folder, version_sha, column):
    name = hashlib.sha256(str(column).encode()).hexdigest()[:16]
    return Path(folder) / "grams" / version_sha[:2] / f"{version_sha}-{name}.parquet"


def ready(settings, ver, column, term):
    """Whether a `q` term on a column of this version can be answered from the column's postings; if the term could
    but the postings are not written yet, their writing is started."""
    if len(term) < GRAM or ver["row_count"] < settings.datastore_gram_rows:
        return False
    if path(settings, ver["parquet_sha256"], column).exists():
        return True
    _start(settings, ver["parquet_sha256"], column)
    return False


def starts_sql(settings, ver, column, term):
    """(SQL, values) selecting (`_id`, `start`) of every place the lower-cased column holds `term` (ready() first)."""
    src = f"read_parquet('{path(settings, ver['parquet_sha256'], column)}')"
    # Pieces every GRAM characters, and the last one flush with the term's end: together they cover each character.
    offsets = sorted(set(range(0, len(term) - GRAM + 1, GRAM)) | {len(term) - GRAM})
    pieces = [term[o:o + GRAM] for o in offsets]
    if len(pieces) == 1:
        return f"SELECT _id, pos AS start FROM {src} WHERE g = ?", pieces
    starts = " UNION ALL ".join(f"SELECT _id, pos - {o} AS start FROM {src} WHERE g = ?" for o in offsets)
    return f"SELECT _id, start FROM ({starts}) GROUP BY _id, start HAVING count(*) = {len(pieces)}", pieces


def ids_sql(settings, ver, column, term):
    """(SQL, values) selecting once each `_id` of the rows whose lower-cased column holds `term` (ready() first)."""
    sql, values = starts_sql(settings, ver, column, term)
    return f"SELECT DISTINCT _id FROM ({sql})", values


def overlaps_itself(term):
    """Whether two places a term is found at can overlap (it begins as it ends: ถนนถ, aa): a count of its places
    is then not the count of its separate occurrences, which a row's rank counts."""
    return any(term[:k] == term[-k:] for k in range(1, len(term)))


def matches(settings, ver, columns, q):
    """(SQL selecting the _id of each row a `q` matches, and for a `q` over the whole row (its `columns`) its rank;
    its values), from the columns' postings; None unless every term can be answered from them (ready(), which
    starts writing the postings a term could use)."""
    if isinstance(q, dict):
        terms = [(col, normalize(term)) for col, term in q.items()]
        if not all([ready(settings, ver, col, term) for col, term in terms]):   # a list: every build is started
            return None
        parts = [ids_sql(settings, ver, col, term) for col, term in terms]
        return ("SELECT _id FROM (" + " INTERSECT ".join(f"({sql})" for sql, _ in parts) + ")",
                [v for _, values in parts for v in values])
    terms = normalize(q).split()
    # A row's rank counts each term's separate occurrences in each text column (search._text_sql): the places
    # postings find, unless two of them can overlap.
    if not terms or any(overlaps_itself(t) for t in terms):
        return None
    if not all([ready(settings, ver, c, t) for t in terms for c in columns]):
        return None
    counts, args = [], []
    for t in terms:
        starts = [starts_sql(settings, ver, c, t) for c in columns]
        places = " UNION ALL ".join(sql for sql, _ in starts)
        counts.append(f"SELECT _id, count(*) AS n FROM ({places}) GROUP BY _id")
        args += [v for _, values in starts for v in values]
    return (f"SELECT _id, sum(n) + 0.0 AS rank FROM ({' UNION ALL '.join(counts)}) GROUP BY _id "
            f"HAVING count(*) = {len(terms)}", args)


def page(cur, postings, offset, limit, counted, one_pass):
    """(the page's rows, how many rows match or None) of a `q` answered from postings (search.Plan.postings): the
    matching _ids are counted and paged without reading the table (by rank from the postings' counts), then the
    page's rows are read by their _ids. `one_pass`: offset + limit is small enough to take in the counting pass."""
    matched, args, keys, by_ids, lead = postings
    first_ids = "min(_id, ?)" if keys == [("_id", "ASC")] else \
        f"min_by(_id, {tables.sort_key([(tables.quote_ident(name), direction) for name, direction in keys])}, ?)"
    total = None
    if counted and 0 < limit and one_pass:
        # The count and the first offset + limit _ids in one pass (9.9 ms for a term in 165,889 of 1,000,000
        # names, against 12.5 and 8.3 ms apart).
        total, first = cur.execute(f"SELECT count(*), {first_ids} FROM ({matched})", [offset + limit] + args).fetchone()
        ids = (first or [])[offset:]
    else:
        if counted:
            total = cur.execute(f"SELECT count(*) FROM ({matched})", args).fetchone()[0]
        ids = [r[0] for r in cur.execute(f"SELECT _id FROM ({matched}) ORDER BY {tables.order_by(keys)} "
                                         "LIMIT ? OFFSET ?", args + [limit, offset]).fetchall()]
    return (cur.execute(by_ids, lead + [min(ids), max(ids), ids]).fetchall() if ids else []), total


def _start(settings, version_sha, column):
    key = (str(tables.parquet_dir(settings)), version_sha, column)
    with _lock:
        if key in _running or time.monotonic() < _failed.get(key, 0):
            return
        _running.add(key)
    threading.Thread(target=_build_in_child, args=(key,), name="khlang-grams", daemon=True).start()


def _build_in_child(key):
    folder, version_sha, column = key
    try:
        with _one_at_a_time:
            status = subprocess.run([sys.executable, "-m", "catalog.datastore.grams", folder, version_sha, column,
                                     str(MAX_PIECES)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=3600, check=False).returncode
    except (OSError, subprocess.SubprocessError):
        status = -1
    with _lock:
        _running.discard(key)
        if status:
            _failed[key] = float("inf") if status == TOO_LARGE else time.monotonic() + RETRY_AFTER_S


def wait(settings, version_sha, column, timeout=120):
    """Wait until the postings of a column are written (or their writing failed); whether they are there."""
    key = (str(tables.parquet_dir(settings)), version_sha, column)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            running = key in _running
        if not running:
            break
        time.sleep(0.05)
    return path(settings, version_sha, column).exists()


class TooLarge(Exception):
    """The column has more pieces than postings are written for."""


def build(folder, version_sha, column, max_pieces=MAX_PIECES):
    """Write the postings of one column of a version file (in this process); their path. TooLarge if the column
    has more than `max_pieces` pieces."""
    import duckdb   # only the child process that writes postings needs it at once

    final = _path(folder, version_sha, column)
    source = str(Path(folder) / version_sha[:2] / f"{version_sha}.parquet")
    text = f"lower(CAST({tables.quote_ident(column)} AS VARCHAR))"
    spill = tempfile.mkdtemp(prefix=f"khlang-grams-{os.getpid()}-")
    con = duckdb.connect(config={"memory_limit": BUILD_MEMORY, "threads": 2, "temp_directory": spill,
                                 "preserve_insertion_order": False, "autoload_known_extensions": False,
                                 "autoinstall_known_extensions": False})
    tmp = None
    try:
        pieces = con.execute(f"SELECT sum(greatest(length({text}) - {GRAM - 1}, 0)) FROM read_parquet(?)",
                             [source]).fetchone()[0] or 0
        if pieces > max_pieces:
            raise TooLarge(f"{pieces} pieces")
        # Named as a load's temporary file: integrity.sweep_leftovers removes it if this process is killed.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".load-{os.getpid()}-", suffix=".parquet")
        os.close(fd)
        copy = f"""COPY (
            SELECT substr(t, i, {GRAM}) AS g, _id, CAST(i AS INTEGER) AS pos
            FROM (SELECT _id, {text} AS t FROM read_parquet(?)), range(1, greatest(length(t) - {GRAM - 2}, 1)) r(i)
            ORDER BY g, _id, pos
        ) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 122880, COMPRESSION zstd)"""
        try:
            con.execute(copy, [source])
        except duckdb.OutOfMemoryException:
            # Two threads sorting pieces that repeat in nearly every row (the digits of 1,000,000 contract ids and
            # tax ids) ran out of memory within 2 s; one thread wrote them in 9-11 s (and the names in 36 s, against
            # 17-20 s on two).
            con.execute("SET threads = 1")
            con.execute(copy, [source])
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
    finally:
        con.close()
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        shutil.rmtree(spill, ignore_errors=True)
    return final


def main():
    """`python -m catalog.datastore.grams PARQUET_FOLDER VERSION_SHA COLUMN MAX_PIECES`: write one column's
    postings; exit status TOO_LARGE if it has more pieces than that."""
    folder, version_sha, column, max_pieces = sys.argv[1:5]
    if len(version_sha) != 64 or any(c not in "0123456789abcdef" for c in version_sha):
        sys.exit("bad version file id")
    os.nice(10)   # a search or a download on the same cores comes first
    try:
        build(folder, version_sha, column, int(max_pieces))
    except TooLarge:
        sys.exit(TOO_LARGE)


if __name__ == "__main__":
    main()
