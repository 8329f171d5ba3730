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
SOURCE_HELP = ("source format: kaogeek-budget, bbgfproject, mof-ministry, mof-monthly-moi, mof-monthly, budget-act, "
               "egp-csv, csv, xlsx, json")


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


def _rebuild_spending(settings):
    from catalog.store import db as catalog_db
    from spending.build import rebuild

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
    from catalog.settings import Settings

    _rebuild_spending(Settings.from_env(db_path=args.db))
    return 0


def _metadata(args):
    """The dataset metadata given on the command line (--meta FILE.json first, then the flags over it)."""
    from .publishing import Metadata

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
    from catalog.store import db as catalog_db
    from catalog.context import Context
    from catalog.errors import ActionError, is_write_failure
    from catalog.settings import Settings

    from .cli import _sysadmin_for_cli
    from .publishing import ingest_local

    started = time.perf_counter()
    if bool(args.remote) != bool(args.token):
        print("error: --remote and --token go together", file=sys.stderr)
        return 2
    settings = Settings.from_env(db_path=args.db)
    try:
        meta = _metadata(args)
        plan = validation.plan_for(args.schema, args.source)
        if args.remote:
            with validation.Workspace(str(Path(settings.storage_dir) / "tmp")) as ws:
                checked = [validation.check_file(ws, p, plan, i) for i, p in enumerate(args.files)]
                report = validation.report(checked, started)
                if not report["valid"]:
                    return _invalid(report)
                _warn(report)
                from .publishing import resource_name

                name = resource_name(args.resource, plan, args.files)
                fmt = (plan.source or {}).get("format") or Path(args.files[0]).suffix.lstrip(".").upper()
                out = loading.publish_remote(args.remote, args.token, ws, checked, args.org, args.dataset, name, fmt)
        else:
            db = catalog_db.connect(settings.db_path)
            try:
                ctx = Context(db=db, settings=settings, user=_sysadmin_for_cli(db))
                done = ingest_local(ctx, args.files, org=args.org, dataset=args.dataset, schema=args.schema,
                                    source=args.source, resource=args.resource, meta=meta)
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


def _slug(value):
    """argparse type of --org/--dataset: a CKAN name (Thai goes in --title/--org-title)."""
    import argparse

    from .publishing import slug_error

    problem = slug_error(value)
    if problem:
        raise argparse.ArgumentTypeError(f"{problem} (got {value!r}; put Thai text in --title or --org-title)")
    return value


def add_commands(sub, with_db):
    """Register validate and ingest on the CLI's subparsers."""
    v = sub.add_parser("validate", help="validate files against a Table Schema (exit 0 valid, 1 invalid, 2 cannot read)")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--schema", help="a schema name from validators/ or a path to a Table Schema JSON")
    v.add_argument("--source", help=SOURCE_HELP)
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.add_argument("--limit-errors", type=int, default=engine.LIMIT_ERRORS)
    v.set_defaults(func=cmd_validate)

    i = with_db(sub.add_parser("ingest", help="validate and load files as a dataset resource (local or --remote)"))
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--org", required=True, type=_slug, help="organization name (a CKAN slug: a-z, 0-9, - or _)")
    i.add_argument("--dataset", required=True, type=_slug, help="dataset name (a CKAN slug: a-z, 0-9, - or _)")
    i.add_argument("--schema")
    i.add_argument("--source", help=SOURCE_HELP)
    i.add_argument("--resource", help="resource name (default: the file name for one file, the source's label for several)")
    i.add_argument("--title", help="dataset title, e.g. in Thai (default: the source format's Thai title)")
    i.add_argument("--notes", help="dataset description (default: the source format's Thai description)")
    i.add_argument("--org-title", help="organization title when it is created, e.g. in Thai")
    i.add_argument("--license", help="licence id (see license_list), e.g. cc-by")
    i.add_argument("--tag", action="append", help="a tag; repeat for several")
    i.add_argument("--meta", metavar="FILE.json", help="a JSON object of dataset fields (any GDC field, title, notes, tags, "
                                                       "license_id, coverage_notes)")
    i.add_argument("--remote", help="base URL of a CKAN-compatible portal")
    i.add_argument("--token", help="API token for --remote")
    i.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("spending", help="the spending explorer's model").add_subparsers(dest="spending_command",
                                                                                         required=True)
    sr = with_db(sp.add_parser("rebuild", help="rebuild dimensions, facts, rollups and red flags from the feeds"))
    sr.set_defaults(func=cmd_spending_rebuild)
