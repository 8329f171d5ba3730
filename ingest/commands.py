"""`khlang validate` and `khlang ingest`: exit 0 valid/loaded, 1 invalid (nothing loaded), 2 cannot read."""
import json
import sys
import time
from pathlib import Path

from catalog.context import Context
from catalog.errors import ActionError, is_write_failure
from catalog.settings import Settings
from catalog.store import db as catalog_db
from catalog.users import system_user
from spending.build import rebuild

from . import engine, loading, validation
from .compiler import Unsupported
from .publishing import Metadata, ingest_local, resource_name
from .schemas import CannotStart
from .sourcefile import CannotRead

SHOW_ERRORS = 20


def _cell(text, width):
    text = str(text if text is not None else "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def print_report(report, out=None):
    """A readable table of the first errors of each file and totals by error type (on standard output by default)."""
    out = out or sys.stdout
    for task in report["tasks"]:
        mark = "valid" if task["valid"] else "INVALID"
        engine_name = task.get("khlang", {}).get("engine", "frictionless")
        print(f"{mark}: {task['place']}  {task['stats'].get('rows', 0):,} rows, {task['stats']['errors']:,} errors "
              f"({engine_name}, {task['stats']['seconds']} s)", file=out)
        for w in task["warnings"]:
            print(f"  warning: {w}", file=out)
        if task["errors"]:
            print(f"  {'row':>7}  {'field':<24}  {'type':<18}  message", file=out)
            for e in task["errors"][:SHOW_ERRORS]:
                row = e.get("rowNumber") or ",".join(map(str, e.get("rowNumbers", []))) or "-"
                print(f"  {row:>7}  {_cell(e.get('fieldName') or '', 24):<24}  {e['type']:<18}  {_cell(e['message'], 100)}",
                      file=out)
            if len(task["errors"]) > SHOW_ERRORS:
                print(f"  … {len(task['errors']) - SHOW_ERRORS:,} more errors listed in --format json", file=out)
        totals = task.get("khlang", {}).get("errorsByType") or {}
        if totals:
            print("  totals: " + ", ".join(f"{k} {v:,}" for k, v in sorted(totals.items())), file=out)
    state = "valid" if report["valid"] else "invalid"
    print(f"{state}: {report['stats']['tasks']} file(s), {report['stats']['errors']:,} errors, "
          f"{report['stats']['seconds']} s", file=out)


def cmd_validate(args):
    """Validate files against a schema from validators/ or a Table Schema path."""
    try:
        limit = engine.LIMIT_ERRORS if args.limit_errors is None else args.limit_errors
        report = validation.validate_paths(args.files, schema_arg=args.schema, source_name=args.source,
                                           limit_errors=limit, memory_limit=validation.command_memory())
    except (CannotRead, CannotStart, Unsupported) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
    else:
        print_report(report)
    return 0 if report["valid"] else 1


def _rebuild_spending(settings):
    db = catalog_db.connect(settings.db_path)
    try:
        manifest = rebuild(settings, db)
        print(f"spending model rebuilt in {manifest['seconds']} s" if manifest["built_now"]
              else "spending model unchanged (the same inputs were built before)", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the data is loaded; only the explorer's copy is stale
        print(f"warning: the data is loaded but the spending model was not rebuilt ({exc}); "
              "run `khlang spending rebuild`", file=sys.stderr)
    finally:
        db.close()


def cmd_spending_rebuild(args):
    """Rebuild the spending model from every feed resource and make it live."""
    _rebuild_spending(Settings.from_env(db_path=args.db))
    return 0


def _metadata(args):
    """The dataset metadata given on the command line (--meta FILE.json first, then the flags over it)."""
    extras = {}
    if args.meta:
        try:
            extras = json.loads(Path(args.meta).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CannotStart(f"--meta: cannot read {args.meta} as JSON ({exc})") from None
        if not isinstance(extras, dict):
            raise CannotStart("--meta: must hold a JSON object of dataset fields (GDC fields, title, notes, ...)")
    coverage = extras.pop("coverage_notes", None) or []
    meta = Metadata(title=args.title or extras.pop("title", None), notes=args.notes or extras.pop("notes", None),
                    org_title=args.org_title, license_id=args.license or extras.pop("license_id", None),
                    tags=list(args.tag or []) or [t if isinstance(t, str) else t.get("name") for t in extras.pop("tags", [])],
                    coverage=coverage if isinstance(coverage, list) else [])
    meta.extras = extras
    return meta


def cmd_ingest(args):
    """Validate, then load into this Khlang (or --remote portal) in one step; nothing loads if invalid."""
    started = time.perf_counter()
    if bool(args.remote) != bool(args.token):
        print("error: --remote and --token go together", file=sys.stderr)
        return 2
    settings = Settings.from_env(db_path=args.db)
    try:
        meta = _metadata(args)
        plan = validation.plan_for(args.schema, args.source)
        if args.remote:
            with validation.Workspace(str(Path(settings.storage_dir) / "tmp"), validation.command_memory()) as ws:
                checked = [validation.check_file(ws, p, plan, i) for i, p in enumerate(args.files)]
                report = validation.report(checked, started)
                if not report["valid"]:
                    return _invalid(report)
                _warn(report)
                name = resource_name(args.resource, plan, args.files)
                fmt = (plan.source or {}).get("format") or Path(args.files[0]).suffix.lstrip(".").upper()
                out = loading.publish_remote(args.remote, args.token, ws, checked, args.org, args.dataset, name, fmt,
                                             indexes=args.index)
        else:
            db = catalog_db.connect(settings.db_path)
            try:
                ctx = Context(db=db, settings=settings, user=system_user(db))
                done = ingest_local(ctx, args.files, org=args.org, dataset=args.dataset, schema=args.schema,
                                    source=args.source, resource=args.resource, meta=meta, indexes=args.index,
                                    memory_limit=validation.command_memory())
            finally:
                db.close()
            if not done.report["valid"]:
                return _invalid(done.report)
            _warn(done.report)
            out, name = done.loaded, done.resource
            if (plan.source or {}).get("feeds"):
                _rebuild_spending(settings)
    except (CannotRead, CannotStart, Unsupported) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - write failures and action errors get an answer; the rest is a bug
        if is_write_failure(exc):
            # A full disk or a write limit: the new version file was never made live, so nothing changed.
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            print(f"error: could not write to the store ({reason}); nothing was loaded and the previous data is "
                  "unchanged", file=sys.stderr)
            return 2
        if isinstance(exc, ActionError):
            print(f"error: {_action_message(exc)}", file=sys.stderr)
            return 2
        raise
    feeds = (plan.source or {}).get("feeds")
    print(f"loaded {out['rows']:,} rows into {out['dataset']} / {name} (resource {out['resource_id']}"
          + (f", version {out['version']}" if out.get("version") else "") + ")"
          + (f" on {out['remote']}" if out.get("remote") else "")
          + (f"; feeds spending table {feeds}" if feeds else "")
          + f" in {time.perf_counter() - started:.1f} s")
    return 0


def _invalid(report):
    print_report(report, out=sys.stderr)
    print("nothing was loaded", file=sys.stderr)
    return 1


def _warn(report):
    for task in report["tasks"]:
        for w in task["warnings"]:
            print(f"warning: {task['place']}: {w}", file=sys.stderr)


def _action_message(exc):
    """An action's error as `field: message` instead of a Python dict."""
    return (exc.summary() if hasattr(exc, "summary") else "") or str(exc)
