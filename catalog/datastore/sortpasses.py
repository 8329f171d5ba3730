"""A sorted download in passes, for when its lines are more than a share of the reader's memory or DuckDB cannot
sort them all within it.

One sort of every line takes all the memory DuckDB may use: a million rows' lines (513 MB of CSV) took the server
to 403 MB in 5.9-7.2 s; in nine passes of 61 MB, to 263-278 MB in 6.5-9.2 s (bench/export_bench.py).

DuckDB 2.0.1 sorts long text out of memory only so far: lines of 1 KB failed ("Out of Memory ... failed to pin
block") once they came to about the memory they were given (60 MB in 64 MB, 120 MB in 128 MB), so a sorted
download of a large table of wide rows could not be written at all. In passes, each sorts one range of the sort
keys: the ranges split a sample of the keys (DuckDB's create_sort_key, which holds every key and direction as one
value; `_id` or, with distinct, every field among them makes it unique), and a pass that still does not fit is
split again. Each pass reads the table again, but only the rows within its range of the first sort column are
read on and made lines: DuckDB tests that range as it reads the file (300,000 lines of 960 bytes in 35 passes:
0.3-0.4 s a pass when every pass made every row's line and kept its range's, 0.07-0.17 s this way)."""
import os

from . import tables

SAMPLE = 4096      # sort keys sampled to split a range (more when there are more passes)
PASS_SHARE = 4     # a pass's lines at most this fraction of the reader's memory left once a row group is read
MAX_SPLITS = 6     # halvings of a pass that still fails before giving up


class Passes:
    """The lines of the rows of `source` (SQL whose columns end with the sort columns _o0, _o1 …, with `args`),
    made by `line_query(source, carried)` (SQL of a `line` column, then the `carried` columns of its source),
    written in the order `directions` (ASC or DESC for each _o column) a range of keys at a time."""

    def __init__(self, source, line_query, directions, args, memory, rows=None, whole=False, offset=0):
        """`rows`: the most rows `source` returns (its version's count); `whole`: whether it returns each of them as
        stored, so that reading it again costs a pass little; `offset`: how many of the first lines to leave out."""
        self.line_query, self.memory, self.rows, self.whole = line_query, memory, rows, whole
        self.skip = offset
        directions = list(directions)
        self.key = tables.sort_key((f"_o{i}", d) for i, d in enumerate(directions))
        self.descending = directions[0] == "DESC"
        self._read(source, args)
        self._width = self._estimate = None

    def _read(self, source, args):
        self.source, self.args = source, list(args)
        self.keyed = f"SELECT *, {self.key} AS _k FROM ({source})"

    def needed(self, cursor, path):
        """Whether the lines are written in passes: when they are more than one pass holds. A source that selects
        among its version's rows is then run once, into the Parquet file `path` (the caller removes it), which every
        pass reads: a `q` that tests every row's text is not tested again by each pass. On a version of more than a
        row group, it is run before the lines are counted, and they are counted from what it selected: their width
        found from the source would test a rare term on every row once more."""
        if self.rows is None:
            return False
        rows = self.rows
        if not self.whole and rows > tables.ROW_GROUP_ROWS:
            rows = self._select(cursor, path)
        elif rows * self._line_bytes(cursor) <= self._share(self._width):
            return False
        elif not self.whole:
            rows = self._select(cursor, path)
        self._estimate = self._passes(cursor, rows)
        return True

    def _select(self, cursor, path):
        """Run the source once into the Parquet file `path`, which the passes then read; its count of rows."""
        quoted = path.replace("'", "''")
        cursor.execute(f"COPY ({self.source}) TO '{quoted}' (FORMAT parquet, ROW_GROUP_SIZE {tables.ROW_GROUP_ROWS})",
                       self.args)
        self._read(f"SELECT * FROM read_parquet('{quoted}')", [])
        return cursor.execute(f"SELECT count(*) FROM ({self.source})").fetchone()[0]

    def write(self, copy, cursor, target, stop, out_of_memory, paths):
        """Write the lines in order into files named after `target` (copy(sql, args, path) writes one), a pass at
        a time until `stop()` is true, adding each file's path to `paths` in order before it is written (the
        caller removes them, whole or not). `out_of_memory`: DuckDB's exception for it."""
        self._write(copy, cursor, target, stop, out_of_memory, None, None, 0, paths)

    def _write(self, copy, cursor, target, stop, out_of_memory, low, high, splits, paths):
        parts = 2 if splits else self._estimate if self._estimate is not None else max(2, self._passes(cursor))
        bounds = self._bounds(cursor, low, high, parts)
        for i, (lo, hi) in enumerate(zip([low, *bounds], [*bounds, high])):
            if stop():
                return
            where, args = _range(lo, hi, self.descending)
            skip = self.skip
            if skip:   # the download's offset: ranges wholly before it are not written, the one it falls in in part
                held, = cursor.execute(f"SELECT count(*) FROM ({self.keyed}){where}", self.args + args).fetchone()
                if held <= skip:
                    self.skip -= held
                    continue
            path = f"{target}.{i}"
            paths.append(path)
            try:
                ranged = self.line_query(f"SELECT * FROM ({self.keyed}){where}", ", _k")
                copy(f"SELECT line FROM ({ranged}) ORDER BY _k OFFSET ?", self.args + args + [skip], path)
                self.skip = 0
            except out_of_memory:
                if splits >= MAX_SPLITS:
                    raise
                paths.pop()
                if os.path.exists(path):
                    os.unlink(path)
                self._write(copy, cursor, path, stop, out_of_memory, lo, hi, splits + 1, paths)

    def _passes(self, cursor, rows=None):
        """How many passes hold the lines of `rows` rows (the source's, counted, when not given)."""
        if rows is None:
            rows, = cursor.execute(f"SELECT count(*) FROM ({self.source})", self.args).fetchone()
        width = self._line_bytes(cursor)
        return -(-int(rows * width) // self._share(width))

    def _line_bytes(self, cursor):
        """The bytes of a line, estimated from the first thousand lines (once)."""
        if self._width is None:
            first = self.line_query(f"SELECT * FROM ({self.source}) LIMIT 1000", "")
            width, = cursor.execute(f"SELECT avg(strlen(line)) FROM ({first})", self.args).fetchone()
            self._width = width or 0
        return self._width

    def _share(self, width):
        """The bytes of lines of `width` a pass holds: PASS_SHARE of the memory that reading a row group leaves."""
        # DuckDB took 64 MB more at a time to read a row group of 16,384 lines of 2.7 KB. Lines that wide were
        # sorted in 128 MB in passes of 8 MB, not of 11.
        reading = int(3 * tables.ROW_GROUP_ROWS * width)
        return max((self.memory - reading) // PASS_SHARE, self.memory // 16)

    def _bounds(self, cursor, low, high, parts):
        """Bounds splitting the range (low, high] into about `parts` ranges of as many rows, from a sample: each
        a (key, first sort column's value) pair."""
        if parts <= 1:
            return []
        where, args = _range(low, high, self.descending)
        keys = sorted({r[0] for r in cursor.execute(
            f"SELECT _k FROM (SELECT _k FROM ({self.keyed}){where}) "
            f"USING SAMPLE {max(SAMPLE, parts * 32)} ROWS", self.args + args).fetchall()})
        bounds = sorted({keys[len(keys) * i // parts] for i in range(1, parts)}) if len(keys) > 1 else []
        if not bounds:
            return []
        # The bounds' values of the first column are looked up after the sample, not sampled beside the keys: a
        # sample of both, each 2.7 KB of text, ran out of 128 MB where a sample of the keys alone fit.
        marks = ", ".join("?" * len(bounds))
        first = dict(cursor.execute(f"SELECT _k, _o0 FROM ({self.keyed}) WHERE _k IN ({marks})",
                                    self.args + bounds).fetchall())
        return [(key, first[key]) for key in bounds]


def _range(low, high, descending):
    """The WHERE clause (and its values) of the keys above the bound `low` up to the bound `high` (None: no bound),
    the first sort column's values `descending` or not."""
    conds, args = [], []
    if low is not None:
        conds.append("_k > ?")
        args.append(low[0])
    if high is not None:
        conds.append("_k <= ?")
        args.append(high[0])
    first, first_args = _first_column_range(low, high, descending)
    conds += first
    args += first_args
    return (" WHERE " + " AND ".join(conds)) if conds else "", args


def _first_column_range(low, high, descending):
    """The conditions (and their values) on the first sort column that every row between the bounds `low` and
    `high` meets. DuckDB tests them as it reads the file, so a row outside is not read on: create_sort_key's range
    is tested only once every column of the row has been read."""
    # A range of keys never holds a value of the first column beyond its bounds' values. NULLs come after every
    # value, so a range with no upper bound, or one that is NULL, may hold them. Lists are left to the keys:
    # within a list, < and create_sort_key need not place a NULL alike.
    if any(isinstance(bound[1], list) for bound in (low, high) if bound is not None):
        return [], []
    if low is not None and low[1] is None:
        return ["_o0 IS NULL"], []
    if high is None or high[1] is None:
        return [], []
    below, above = (high, low) if descending else (low, high)
    conds, args = [], []
    for bound, test in ((below, ">="), (above, "<=")):
        if bound is not None:
            conds.append(f"_o0 {test} ?")
            args.append(bound[1])
    return conds, args
