"""The spending build's own scratch database: in memory (no write-ahead log or checkpoints), spilling to a
temporary folder past its memory limit, with the Thai value macros and the reference tables installed."""
import os
import shutil
import tempfile
from pathlib import Path

from catalog import thaiformats

from . import reference


class Scratch:
    """One build's DuckDB: `cur` to work with; the folder (named with the pid, so a killed build's leftovers
    are swept like an ingest's) goes on close."""

    def __init__(self, base, memory_limit="1GB"):
        import duckdb   # a build's: not loaded by the commands and the server that never build
        Path(base).mkdir(parents=True, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"khlang-ingest-{os.getpid()}-spending-", dir=base)
        self.con = duckdb.connect(":memory:", config={
            "memory_limit": memory_limit, "threads": 2, "temp_directory": os.path.join(self.dir, "spill"),
            "autoload_known_extensions": False, "autoinstall_known_extensions": False,
            # Every file the build writes has its own ORDER BY, so row order need not be kept in between.
            "preserve_insertion_order": False})
        self.con.execute("SET enable_progress_bar = false")
        self.cur = self.con.cursor()
        thaiformats.install_macros(self.cur)
        reference.install(self.cur)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cur.close()
        self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)
