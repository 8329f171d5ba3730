"""datastore_search_sql: one checked SELECT, run in a sandbox process with time, memory and row limits."""
import json
import queue
import subprocess
import sys
import threading

from . import sqlguard, tables
from .search import require_table, resolve
from ..errors import NotAuthorized, NotFound, ValidationError

SQL_ROWS_MAX = 32000
WORKERS = 2


class _Worker:
    """One `python -m catalog.datastore.sqlworker` process; killed and replaced when a query overruns."""

    def __init__(self, settings):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "catalog.datastore.sqlworker", str(tables.parquet_dir(settings)), str(settings.sql_memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
        if json.loads(self.proc.stdout.readline() or "{}").get("ready") is not True:
            self.kill()
            raise RuntimeError("the SQL sandbox did not start")

    def ask(self, request, timeout):
        """The worker's answer, or None when it ran out of time or died (it is then gone)."""
        box = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        self.proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            self.kill()
            return None
        return json.loads(box[0])

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        self.proc.kill()
        self.proc.wait()


_pools = {}
_pools_lock = threading.Lock()


def _pool(settings):
    key = str(tables.parquet_dir(settings))
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = queue.Queue()
            for _ in range(WORKERS):
                pool.put(None)   # a slot; the process starts on first use
        return pool


def run_sandboxed(settings, sql, views):
    """Run one checked SELECT over `views` ({name: parquet path}) in a sandbox process; returns its answer."""
    pool = _pool(settings)
    worker = pool.get()
    try:
        if worker is None or not worker.alive():
            worker = _Worker(settings)
        answer = worker.ask({"sql": sql, "views": views, "max_rows": SQL_ROWS_MAX}, settings.sql_timeout_s)
        if answer is None:
            died = worker.proc.returncode not in (None, -9)
            worker = None
            raise ValidationError({"query": [
                "The query used more memory than allowed and was stopped" if died else
                f"Query took longer than {settings.sql_timeout_s:g} s and was cancelled"]})
        return answer
    finally:
        pool.put(worker if worker is not None and worker.alive() else None)


def datastore_search_sql(ctx, data):
    """One read-only SELECT over DataStore tables the caller may read, with time, memory and row limits."""
    sql = data.get("sql")
    names = sqlguard.check(tables.reader(ctx.settings), sql)
    views = {}
    for name in sorted(names):
        try:
            res_row, _ = resolve(ctx, name)
        except NotFound:
            raise ValidationError({"query": [f'Table "{name}" does not exist'], "info": {"statement": sql}}) from None
        except NotAuthorized:
            raise NotAuthorized("Not authorized to read resource.") from None
        ver = require_table(ctx, res_row["id"])
        views[name] = str(tables.parquet_path(ctx.settings, ver["parquet_sha256"]))
    answer = run_sandboxed(ctx.settings, sql, views)
    if not answer["ok"]:
        if answer.get("permission"):
            raise NotAuthorized("Not authorized to access that")
        raise ValidationError({"query": [answer["error"]], "info": {"statement": sql}})
    cols, rows = answer["columns"], answer["rows"]
    result = {"sql": sql, "fields": [{"id": c, "type": t} for c, t in zip(cols, answer["types"])],
              "records": [dict(zip(cols, r)) for r in rows[:SQL_ROWS_MAX]]}
    if len(rows) > SQL_ROWS_MAX:
        result["records_truncated"] = True
    return result
