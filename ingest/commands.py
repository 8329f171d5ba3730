"""`khlang validate` and `khlang ingest`: exit 0 valid/loaded, 1 invalid (nothing loaded), 2 cannot read."""
import json
import sys
import time
from pathlib import Path

from . import engine, loading, validation
from .compiler import Unsupported
from .schemas import CannotStart
from .sourcefile import CannotRead

SHOW_ERRORS = 20


def _cell(text, width):
    text = str(text if text is not None else "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def print_report(report, out=sys.stdout):
    """A readable table of the first errors of each file and totals by error type."""
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
        report = validation.validate_paths(args.files, schema_arg=args.schema, source_name=args.source,
                                           limit_errors=args.limit_errors)
    except (CannotRead, CannotStart, Unsupported) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
    else:
        print_report(report)
    return 0 if report["valid"] else 1


def _resource_name(args, plan, paths):
    if args.resource:
        return args.resource
    if len(paths) == 1:
        return Path(paths[0]).name
    return (plan.source or {}).get("title") or Path(paths[0]).stem


def _rebuild_spending(settings):
    from catalog import db as catalog_db
    from spending.build import rebuild

    db = catalog_db.connect(settings.db_path)
    try:
        manifest = rebuild(settings, db)
        print(f"spending model rebuilt in {manifest['seconds']} s", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the data is loaded; only the explorer's copy is stale
        print(f"warning: the data is loaded but the spending model was not rebuilt ({exc}); "
              "run `khlang spending rebuild`", file=sys.stderr)
    finally:
        db.close()


def cmd_spending_rebuild(args):
    """Rebuild the spending model from every feed resource and make it live."""
    from catalog.settings import Settings

    _rebuild_spending(Settings.from_env(db_path=args.db))
    return 0


def cmd_ingest(args):
    """Validate, then load into this Khlang (or --remote portal) in one step; nothing loads if invalid."""
    from catalog import db as catalog_db
    from catalog.context import Context
    from catalog.errors import ActionError, is_write_failure
    from catalog.settings import Settings

    from .cli import _sysadmin_for_cli

    started = time.perf_counter()
    if bool(args.remote) != bool(args.token):
        print("error: --remote and --token go together", file=sys.stderr)
        return 2
    settings = Settings.from_env(db_path=args.db)
    try:
        plan = validation.plan_for(args.schema, args.source)
        with validation.Workspace(str(Path(settings.storage_dir) / "tmp")) as ws:
            checked = [validation.check_file(ws, p, plan, i) for i, p in enumerate(args.files)]
            report = validation.report(checked, started)
            if not report["valid"]:
                print_report(report, out=sys.stderr)
                print("nothing was loaded", file=sys.stderr)
                return 1
            for task in report["tasks"]:
                for w in task["warnings"]:
                    print(f"warning: {task['place']}: {w}", file=sys.stderr)
            name = _resource_name(args, plan, args.files)
            fmt = (plan.source or {}).get("format") or Path(args.files[0]).suffix.lstrip(".").upper()
            note = f"khlang ingest --source {plan.source['name']}" if plan.source else "khlang ingest"
            if args.remote:
                out = loading.publish_remote(args.remote, args.token, ws, checked, args.org, args.dataset, name, fmt)
            else:
                db = catalog_db.connect(settings.db_path)
                ctx = Context(db=db, settings=settings, user=_sysadmin_for_cli(db))
                out = loading.publish_local(ctx, ws, checked, args.org, args.dataset, name, fmt, report, note,
                                            source=plan.source)
                db.close()
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
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
    feeds = (plan.source or {}).get("feeds")
    print(f"loaded {out['rows']:,} rows into {out['dataset']} / {name} (resource {out['resource_id']}"
          + (f", version {out['version']}" if out.get("version") else "") + ")"
          + (f" on {out['remote']}" if out.get("remote") else "")
          + (f"; feeds spending table {feeds}" if feeds else "")
          + f" in {time.perf_counter() - started:.1f} s")
    return 0


def add_commands(sub, with_db):
    """Register validate and ingest on the CLI's subparsers."""
    v = sub.add_parser("validate", help="validate files against a Table Schema (exit 0 valid, 1 invalid, 2 cannot read)")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--schema", help="a schema name from validators/ or a path to a Table Schema JSON")
    v.add_argument("--source", help="source format: kaogeek-budget, bbgfproject, mof-ministry, mof-monthly-moi, egp-csv, csv, xlsx, json")
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.add_argument("--limit-errors", type=int, default=engine.LIMIT_ERRORS)
    v.set_defaults(func=cmd_validate)

    i = with_db(sub.add_parser("ingest", help="validate and load files as a dataset resource (local or --remote)"))
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--org", required=True)
    i.add_argument("--dataset", required=True)
    i.add_argument("--schema")
    i.add_argument("--source")
    i.add_argument("--resource", help="resource name (default: the file name)")
    i.add_argument("--remote", help="base URL of a CKAN-compatible portal")
    i.add_argument("--token", help="API token for --remote")
    i.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("spending", help="the spending explorer's model").add_subparsers(dest="spending_command",
                                                                                         required=True)
    sr = with_db(sp.add_parser("rebuild", help="rebuild dimensions, facts, rollups and red flags from the feeds"))
    sr.set_defaults(func=cmd_spending_rebuild)
