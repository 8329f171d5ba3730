"""datastore_search_sql: one checked SELECT on a locked-down DuckDB cursor, with time and row limits."""
import threading

from . import sqlguard, tables
from .datastore import quote_ident, require_table, resolve
from .errors import NotAuthorized, NotFound, ValidationError

SQL_ROWS_MAX = 32000
SQL_TIMEOUT_S = 10.0


def datastore_search_sql(ctx, data):
    """One read-only SELECT over DataStore tables the caller may read, with time and row limits."""
    sql = data.get("sql")
    cur = tables.reader(ctx.settings)
    names = sqlguard.check(cur, sql)
    for name in sorted(names):
        try:
            res_row, _ = resolve(ctx, name)
        except NotFound:
            raise ValidationError({"query": [f'Table "{name}" does not exist'], "info": {"statement": sql}}) from None
        except NotAuthorized:
            raise NotAuthorized("Not authorized to read resource.") from None
        ver = require_table(ctx, res_row["id"])
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(name)} AS SELECT * FROM {tables.scan(ctx.settings, ver['parquet_sha256'])}")
    timer = threading.Timer(SQL_TIMEOUT_S, cur.interrupt)
    timer.start()
    try:
        rel = cur.execute(f"SELECT * FROM ({sql}) AS khlang_sql LIMIT {SQL_ROWS_MAX + 1}")
        cols = [d[0] for d in rel.description]
        types = [tables.ckan_type(d[1]) for d in rel.description]
        rows = rel.fetchall()
    except Exception as exc:  # noqa: BLE001 - DuckDB's errors become CKAN's 409 with the message
        if "INTERRUPT" in type(exc).__name__.upper() or "interrupted" in str(exc).lower():
            raise ValidationError({"query": [f"Query took longer than {SQL_TIMEOUT_S:.0f} s and was cancelled"]}) from None
        if "Permission" in type(exc).__name__:
            raise NotAuthorized("Not authorized to access that") from None
        raise ValidationError({"query": [str(exc).splitlines()[0]], "info": {"statement": sql}}) from None
    finally:
        timer.cancel()
    result = {"sql": sql, "fields": [{"id": c, "type": t} for c, t in zip(cols, types)],
              "records": [{c: tables.jsonable(v) for c, v in zip(cols, r)} for r in rows[:SQL_ROWS_MAX]]}
    if len(rows) > SQL_ROWS_MAX:
        result["records_truncated"] = True
    return result
