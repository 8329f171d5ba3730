"""The process that runs user SQL: its own locked-down DuckDB under an address-space limit.

DuckDB does not count every allocation against `memory_limit` (a list from `range()` is not), and
one such query once took 24 GB and had the kernel kill the whole web server. Here an allocation past
the limit fails inside this process and comes back as an error; if the process dies anyway, only it
dies. Protocol: one JSON request per line on stdin, one JSON answer per line on stdout.
"""
import json
import resource
import sys


def _connect(parquet_dir, memory_mb):
    import duckdb  # after the address-space limit is set in main(), so DuckDB starts under it

    con = duckdb.connect(config={"autoload_known_extensions": False, "autoinstall_known_extensions": False,
                                 "threads": 2, "memory_limit": f"{max(memory_mb // 2, 64)}MB"})
    con.execute(f"SET allowed_directories = ['{parquet_dir}/']")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _run(con, request):
    from .tables import ckan_type, jsonable  # tables imports DuckDB: only after the limit is set

    cur = con.cursor()   # its own connection: the views below vanish with it
    try:
        for name, path in request["views"].items():
            quoted = '"' + name.replace('"', '""') + '"'
            cur.execute(f"CREATE TEMP VIEW {quoted} AS SELECT * FROM read_parquet('{path}')")
        rel = cur.execute(f"SELECT * FROM ({request['sql']}) AS khlang_sql LIMIT {int(request['max_rows']) + 1}")
        cols = [d[0] for d in rel.description]
        types = [ckan_type(d[1]) for d in rel.description]
        rows = [[jsonable(v) for v in r] for r in rel.fetchall()]
        return {"ok": True, "columns": cols, "types": types, "rows": rows}
    finally:
        cur.close()


def main():
    """Serve requests until stdin closes."""
    parquet_dir, memory_mb = sys.argv[1], int(sys.argv[2])
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    con = _connect(parquet_dir, memory_mb)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            answer = _run(con, json.loads(line))
        except MemoryError:
            answer = {"ok": False, "error": "Out of Memory Error: the query needed more memory than allowed"}
        except Exception as exc:  # noqa: BLE001 - every DuckDB error goes back as text
            answer = {"ok": False, "error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                      "permission": "Permission" in type(exc).__name__}
        out.write(json.dumps(answer, ensure_ascii=False, default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
