"""Validating files: pick the reader and schema, run the DuckDB engine (or frictionless-py when the
engine cannot), and assemble frictionless's report shape."""
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from frictionless import Checklist, Dialect, Resource, formats

from catalog import thaiformats as thai

from . import engine, readers, schemas, sourcefile
from .compiler import Unsupported
from .sourcefile import CannotRead, NotUtf8


SERVER_MEMORY = "512MB"


def command_memory():
    """A command's workspace memory: a quarter of the machine's, from 512 MB to 2 GB. DuckDB writes an ordered
    Parquet file and reads a wide CSV a third faster with room for both threads' batches; the server's
    background loads keep SERVER_MEMORY."""
    try:
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 20
    except (ValueError, OSError):   # a system that does not say
        return SERVER_MEMORY
    return f"{max(512, min(2048, total_mb // 4))}MB"


class Workspace:
    """A temporary on-disk DuckDB database and folder for one validate/ingest run (memory stays bounded)."""

    def __init__(self, base=None, memory_limit=SERVER_MEMORY):
        if base:
            Path(base).mkdir(parents=True, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"khlang-ingest-{os.getpid()}-", dir=base)
        self.con = duckdb.connect(os.path.join(self.dir, "work.duckdb"), config={
            "memory_limit": memory_limit, "threads": 2, "temp_directory": os.path.join(self.dir, "spill"),
            "autoload_known_extensions": False, "autoinstall_known_extensions": False,
            "preserve_insertion_order": True})
        self.con.execute("SET enable_progress_bar = false")
        self.cur = self.con.cursor()
        thai.install_macros(self.cur)
        self.sources = []

    def close(self):
        """Drop the database and every temporary file."""
        for src in self.sources:
            src.cleanup()
        self.cur.close()
        self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class Checked:
    """One validated file: its report task and, when valid, how to read its typed rows."""

    path: str
    src: object
    reader: object
    schema: object
    task: dict
    plan: object = None
    table: str = "raw"

    @property
    def valid(self):
        return self.task["valid"]


@dataclass
class Plan:
    """What a --schema/--source pair means for the files at hand."""

    schema_name: str = None
    source: dict = None
    descriptor: dict = None
    checklist: dict = field(default_factory=dict)


def plan_for(schema_arg=None, source_name=None):
    """Resolve --schema and --source into a reader/schema plan (CannotStart when they do not fit)."""
    source = schemas.source(source_name) if source_name else None
    if not schema_arg and source and source.get("schema"):
        schema_arg = source["schema"]
    plan = Plan(source=source)
    if schema_arg:
        name, schema, checklist = schemas.resolve(schema_arg)
        plan.schema_name, plan.descriptor, plan.checklist = name, schema.to_descriptor(), checklist
        if name and not source:
            plan.source = schemas.source_for_schema(name)
    return plan


def check_file(ws, path, plan, index=0, limit_errors=engine.LIMIT_ERRORS, reader=None, place=None):
    """Read and validate one file; a file without a schema is checked against the schema inferred from it."""
    reader = reader or (readers.for_source(plan.source) if plan.source else readers.guess(path))
    src = reader.open(path, ws.dir, ws.cur)
    if place:
        src.place = place
    ws.sources.append(src)
    descriptor = plan.descriptor
    if descriptor is None:
        descriptor = infer_schema(ws, src)
    descriptor = reader.adapt_schema(descriptor, src, ws.cur)
    schema = schemas.parse_schema(descriptor)
    table = f"raw{index}"
    try:
        try:
            task, tplan = engine.validate(ws.cur, src, schema, plan.checklist, limit_errors=limit_errors, table=table)
        except NotUtf8:
            # It started as UTF-8 but is not: read it again as TIS-620 (cp874), as Thai agencies' old exports are.
            labels, place = src.labels, src.place
            src = sourcefile.open_csv(path, ws.dir, place=place, force_encoding="cp874")
            src.labels = labels if len(labels) == len(src.labels) else src.labels
            ws.sources.append(src)
            task, tplan = engine.validate(ws.cur, src, schema, plan.checklist, limit_errors=limit_errors, table=table)
    except Unsupported as why:
        task = fallback(src, schema, plan.checklist, str(why), limit_errors)
        tplan = None
        if task["valid"]:
            _, tplan = engine.validate(ws.cur, src, schema, plan.checklist, limit_errors=limit_errors, table=table,
                                       strict=False)
    if src.repairs:
        task["warnings"] = list(src.repairs) + task["warnings"]
        task["stats"]["warnings"] = len(task["warnings"])
    if task["valid"] and src.labels and not task["stats"].get("rows"):
        task["warnings"].append("the file has a header row but no data rows")
        task["stats"]["warnings"] = len(task["warnings"])
    if plan.descriptor is None:
        task.setdefault("khlang", {})["schemaInferred"] = True
    return Checked(path=str(path), src=src, reader=reader, schema=schema, task=task, plan=tplan, table=table)


def fallback(src, schema, checklist, reason, limit_errors):
    """Validate with frictionless-py itself (row by row in Python) for features the SQL compiler lacks."""
    control = formats.CsvControl(delimiter=src.delimiter)
    resource = Resource(path=os.path.basename(src.path), basepath=os.path.dirname(src.path), schema=schema,
                        format="csv", encoding="utf-8-sig", dialect=Dialect(controls=[control]))
    # Warning-level checks are a Khlang extension frictionless-py has no place for: they are left out here.
    checks = [{k: v for k, v in c.items()} for c in (checklist or {}).get("checks", []) if c.get("severity") != "warning"]
    report = resource.validate(Checklist.from_descriptor({**(checklist or {}), "checks": checks}), limit_errors=limit_errors)
    task = report.tasks[0].to_descriptor()
    task["place"] = src.place
    task["warnings"] = [f"validated with frictionless-py because the SQL compiler does not cover: {reason}"] + task.get("warnings", [])
    task["stats"]["warnings"] = len(task["warnings"])
    counts = {}
    for e in task["errors"]:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    task["khlang"] = {"engine": "frictionless", "fallbackReason": reason, "errorsByType": counts}
    return task


def infer_schema(ws, src):
    """A Table Schema guessed by DuckDB's sniffer (all labels kept; unknown types become strings)."""
    if not src.labels:
        return {"fields": []}
    try:
        rows = ws.cur.execute("SELECT Columns FROM sniff_csv(?, sample_size=20480)", [src.path]).fetchone()[0]
    except Exception:
        rows = []
    types = {"BIGINT": "integer", "INTEGER": "integer", "DOUBLE": "number"}
    fields = []
    for i, label in enumerate(src.labels):
        kind = types.get(rows[i]["type"], "string") if rows and i < len(rows) else "string"
        fields.append({"name": label or f"field{i + 1}", "type": kind})
    return {"fields": fields}


def report(checked, started, extra_errors=()):
    """frictionless's report shape over every file's task."""
    tasks = [c.task for c in checked]
    errors = list(extra_errors)
    n_errors = sum(t["stats"]["errors"] for t in tasks) + len(errors)
    return {
        "valid": n_errors == 0 and all(t["valid"] for t in tasks),
        "stats": {"tasks": len(tasks), "errors": n_errors, "warnings": sum(t["stats"]["warnings"] for t in tasks),
                  "seconds": round(time.perf_counter() - started, 3)},
        "warnings": [],
        "errors": errors,
        "tasks": tasks,
    }


def validate_paths(paths, schema_arg=None, source_name=None, limit_errors=engine.LIMIT_ERRORS, workdir=None,
                   memory_limit=SERVER_MEMORY):
    """Validate files and return the report (CannotStart/CannotRead when it cannot begin)."""
    started = time.perf_counter()
    plan = plan_for(schema_arg, source_name)
    with Workspace(workdir, memory_limit) as ws:
        checked = [check_file(ws, p, plan, i, limit_errors) for i, p in enumerate(paths)]
        return report(checked, started)


__all__ = ["CannotRead", "SERVER_MEMORY", "Workspace", "check_file", "command_memory", "plan_for", "report",
           "validate_paths"]
