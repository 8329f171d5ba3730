"""Checking user SQL before DuckDB runs it: one SELECT, known tables only, no file or system access.

The check reads DuckDB's own parse tree (json_serialize_sql), so comments, quoting and unicode
tricks cannot hide a statement from it. The reader connection is locked down as a second wall.
"""
import json

from ..errors import NotAuthorized, ValidationError

# Scalar functions that read files, run SQL text, or reveal the server.
DENIED_FUNCTIONS = {
    "query", "query_table", "current_setting", "getenv", "read_blob", "read_text", "read_csv", "read_csv_auto",
    "read_json", "read_json_auto", "read_parquet", "parquet_scan", "glob", "sniff_csv", "read_ndjson",
    "read_ndjson_auto", "read_json_objects", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
    "parquet_kv_metadata", "duckdb_secrets", "which_secret", "current_database", "current_schema",
    "pg_typeof", "nextval", "currval", "setseed", "txid_current", "version", "platform", "checkpoint",
    "force_checkpoint", "enable_profiling", "disable_profiling", "icu_sort_key", "sleep_ms",
}


def _walk(node, tables, functions, ctes):
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            if node.get("schema_name") or node.get("catalog_name"):
                raise NotAuthorized("Not authorized to access system tables")
            tables.add(node.get("table_name"))
        elif kind == "TABLE_FUNCTION":
            fn = node.get("function", {}).get("function_name", "?")
            raise NotAuthorized(f"Not authorized to call function {fn}")
        elif kind in ("FUNCTION", "AGGREGATE", "WINDOW") or node.get("class") in ("FUNCTION", "AGGREGATE", "WINDOW"):
            if "function_name" in node:
                functions.add(str(node["function_name"]).lower())
                if node.get("schema"):
                    raise NotAuthorized(f"Not authorized to call function {node['schema']}.{node['function_name']}")
        if "cte_map" in node:
            for entry in node["cte_map"].get("map", []):
                ctes.add(entry.get("key"))
        for value in node.values():
            _walk(value, tables, functions, ctes)
    elif isinstance(node, list):
        for item in node:
            _walk(item, tables, functions, ctes)


def check(cursor, sql):
    """The set of table names a single read-only SELECT refers to; raises on anything else."""
    if not isinstance(sql, str) or not sql.strip():
        raise ValidationError({"sql": ["Missing value"]})
    raw = cursor.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
    tree = json.loads(raw)
    if tree.get("error"):
        message = tree.get("error_message", "")
        if "Only SELECT" in message or "statement" in message.lower() and "select" in message.lower():
            raise NotAuthorized("Only SELECT statements are allowed")
        raise ValidationError({"query": [message], "info": {"statement": sql}})
    statements = tree.get("statements", [])
    if len(statements) != 1:
        raise ValidationError({"query": ["Query is not a single statement."]})
    tables, functions, ctes = set(), set(), set()
    _walk(statements[0], tables, functions, ctes)
    bad = sorted((functions & DENIED_FUNCTIONS) | {f for f in functions if f.startswith(("duckdb_", "pragma_", "read_"))})
    if bad:
        raise NotAuthorized(f"Not authorized to call function {bad[0]}")
    return tables - ctes
