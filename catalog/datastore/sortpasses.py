"""A sorted download in passes, for when DuckDB cannot sort all of its lines within the reader's memory.

DuckDB 2.0.1 sorts long text out of memory only so far: lines of 1 KB failed ("Out of Memory ... failed to pin
block") once they came to about the memory they were given (60 MB in 64 MB, 120 MB in 128 MB), so a sorted
download of a large table of wide rows could not be written at all. In passes, each sorts one range of the sort
keys: the ranges split a sample of the keys (DuckDB's create_sort_key, which holds every key and direction as one
value; `_id` or, with distinct, every field among them makes it unique), and a pass that still does not fit is
split again. Each pass reads the table again, so this runs only after the one sort failed."""
import os

from . import tables

SAMPLE = 4096      # sort keys sampled to split a range (more when there are more passes)
PASS_SHARE = 16    # a pass's lines at most this fraction of the reader's memory: of 2.7 KB lines in 128 MB,
                   # passes of 8 MB were sorted, of 16 MB some failed
MAX_SPLITS = 6     # halvings of a pass that still fails before giving up


class Passes:
    """The lines of `lined` (SQL of a `line` column and the sort columns _o0, _o1 … beside it, with `args`),
    written in the order `directions` (ASC or DESC for each _o column) a range of keys at a time."""

    def __init__(self, lined, directions, args, memory):
        self.lined, self.args, self.memory = lined, list(args), memory
        self.key = tables.sort_key((f"_o{i}", d) for i, d in enumerate(directions))

    def write(self, copy, cursor, target, stop, out_of_memory, paths):
        """Write the lines in order into files named after `target` (copy(sql, args, path) writes one), a pass at
        a time until `stop()` is true, adding each file's path to `paths` in order before it is written (the
        caller removes them, whole or not). `out_of_memory`: DuckDB's exception for it."""
        self._write(copy, cursor, target, stop, out_of_memory, None, None, 0, paths)

    def _write(self, copy, cursor, target, stop, out_of_memory, low, high, splits, paths):
        bounds = self._bounds(cursor, low, high, self._passes(cursor) if splits == 0 else 2)
        for i, (lo, hi) in enumerate(zip([low, *bounds], [*bounds, high])):
            if stop():
                return
            where, args = _range(lo, hi)
            path = f"{target}.{i}"
            paths.append(path)
            try:
                copy(f"SELECT line FROM (SELECT line, {self.key} AS _k FROM ({self.lined})){where} ORDER BY _k",
                     self.args + args, path)
            except out_of_memory:
                if splits >= MAX_SPLITS:
                    raise
                paths.pop()
                if os.path.exists(path):
                    os.unlink(path)
                self._write(copy, cursor, path, stop, out_of_memory, lo, hi, splits + 1, paths)

    def _passes(self, cursor):
        """How many passes hold every line at PASS_SHARE of the memory each: the lines' bytes estimated from the
        first thousand lines' length and the count of rows."""
        rows, = cursor.execute(f"SELECT count(*) FROM ({self.lined})", self.args).fetchone()
        width, = cursor.execute(f"SELECT avg(strlen(line)) FROM (SELECT line FROM ({self.lined}) LIMIT 1000)",
                                self.args).fetchone()
        return max(2, -(-int(rows * (width or 0)) // (self.memory // PASS_SHARE)))

    def _bounds(self, cursor, low, high, parts):
        """Keys splitting the range (low, high] into about `parts` ranges of as many rows, from a sample."""
        where, args = _range(low, high)
        keys = sorted({r[0] for r in cursor.execute(
            f"SELECT _k FROM (SELECT _k FROM (SELECT {self.key} AS _k FROM ({self.lined})){where}) "
            f"USING SAMPLE {max(SAMPLE, parts * 32)} ROWS", self.args + args).fetchall()})
        return sorted({keys[len(keys) * i // parts] for i in range(1, parts)}) if len(keys) > 1 else []


def _range(low, high):
    """The WHERE clause (and its values) of the keys above `low` up to `high` (None: no bound)."""
    conds, args = [], []
    if low is not None:
        conds.append("_k > ?")
        args.append(low)
    if high is not None:
        conds.append("_k <= ?")
        args.append(high)
    return (" WHERE " + " AND ".join(conds)) if conds else "", args
