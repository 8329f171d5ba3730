"""The `khlang` command line: the one entry above every part (catalog, spending, ingest, web).

The argparse tree is built from light modules only, and each command names its function as "module:function"
(khlang/commands.py, ingest/commands.py, ingest/harvestcommands.py), imported when it runs, so `khlang --help`
answers without loading DuckDB, pandas, frictionless or Flask."""
import argparse
import importlib
import os
import sys

import spending  # noqa: F401  (registers spending's own migrations, so every database this opens has its tables)
from catalog.harvestsources import TYPES as HARVEST_TYPES
from catalog.params import slug_error
from catalog.settings import SettingError, database_problem
from catalog.store import db as catalog_db

SOURCE_HELP = ("source format: kaogeek-budget, bbgfproject, mof-ministry, mof-monthly-moi, mof-monthly, budget-act, "
               "egp-csv, csv, xlsx, json")


def _port(text):
    """argparse type of --port: a TCP port number."""
    try:
        port = int(text)
    except (TypeError, ValueError):
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535 (got {text!r})")
    return port


def build_parser():
    """The argparse tree of every command."""
    p = argparse.ArgumentParser(prog="khlang", description="Khlang open-data catalogue and spending explorer")
    sub = p.add_subparsers(dest="command", required=True)

    def with_db(sp):
        sp.add_argument("--db", help="catalogue database (default $KHLANG_DB or data/khlang.db)")
        return sp

    for name, fn in (("serve", "khlang.commands:cmd_serve"), ("demo", "khlang.commands:cmd_demo")):
        sp = with_db(sub.add_parser(name, help="serve the site" if name == "serve" else "seed if empty, then serve"))
        sp.add_argument("--host", default=os.environ.get("KHLANG_HOST", "127.0.0.1"))
        sp.add_argument("--port", type=_port, default=os.environ.get("KHLANG_PORT", "5000"))
        sp.add_argument("--threads", type=int, default=int(os.environ.get("KHLANG_THREADS", "8")))
        sp.set_defaults(func=fn)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    ua = with_db(user.add_parser("add", help="create a user"))
    ua.add_argument("name")
    ua.add_argument("--sysadmin", action="store_true")
    ua.add_argument("--email")
    ua.add_argument("--password", help="(asked on the terminal when left out)")
    ua.set_defaults(func="khlang.commands:cmd_user_add")
    up = with_db(user.add_parser("password", help="change a user's password (ends their sessions)"))
    up.add_argument("name")
    up.add_argument("--password", help="(asked on the terminal when left out)")
    up.set_defaults(func="khlang.commands:cmd_user_password")

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="token_command", required=True)
    ta = with_db(token.add_parser("add", help="create an API token and print it"))
    ta.add_argument("name")
    ta.add_argument("--token-name", default="cli")
    ta.set_defaults(func="khlang.commands:cmd_token_add")

    sd = with_db(sub.add_parser("seed-demo", help="load the real public data of data/real/ (or --synthetic data)"))
    sd.add_argument("--force", action="store_true")
    sd.add_argument("--synthetic", action="store_true", help="the labelled synthetic demo for scale tests instead")
    sd.add_argument("--contracts", type=int, default=20000,
                    help="with --synthetic: synthetic e-GP contracts (up to 10,000,000)")
    sd.set_defaults(func="khlang.commands:cmd_seed_demo")

    ck = with_db(sub.add_parser("check", help="check the catalogue and every stored file by sha256"))
    ck.set_defaults(func="khlang.commands:cmd_check")

    mg = with_db(sub.add_parser("migrate", help="apply the migrations the catalogue lacks (serve does this at start)"))
    mg.set_defaults(func="khlang.commands:cmd_migrate")
    cp = with_db(sub.add_parser("copy-to", help="copy this SQLite catalogue into a new PostgreSQL database"))
    cp.add_argument("url", help="postgresql://user:password@host:port/dbname of a new, empty database")
    cp.set_defaults(func="khlang.commands:cmd_copy_to")

    bk = with_db(sub.add_parser("backup", help="snapshot the catalogue and storage into a new folder (while serving)"))
    bk.add_argument("dest", help="a new, empty folder")
    bk.set_defaults(func="khlang.commands:cmd_backup")
    rs = with_db(sub.add_parser("restore", help="make a backup this node's catalogue and storage (both new)"))
    rs.add_argument("src", help="a folder written by khlang backup")
    rs.set_defaults(func="khlang.commands:cmd_restore")

    ri = with_db(sub.add_parser("reindex", help="rebuild the search index"))
    ri.set_defaults(func="khlang.commands:cmd_reindex")

    jobs = sub.add_parser("jobs", help="background loads").add_subparsers(dest="jobs_command", required=True)
    jr = with_db(jobs.add_parser("run", help="run pending background loads now, then exit"))
    jr.set_defaults(func="khlang.commands:cmd_jobs_run")

    _ingest_commands(sub, with_db)
    _harvest_commands(sub, with_db)
    return p


def _slug(value):
    """argparse type of --org/--dataset: a CKAN name (Thai goes in --title/--org-title)."""
    problem = slug_error(value)
    if problem:
        raise argparse.ArgumentTypeError(f"{problem} (got {value!r}; put Thai text in --title or --org-title)")
    return value


def _ingest_commands(sub, with_db):
    v = sub.add_parser("validate", help="validate files against a Table Schema (exit 0 valid, 1 invalid, 2 cannot read)")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--schema", help="a schema name from validators/ or a path to a Table Schema JSON")
    v.add_argument("--source", help=SOURCE_HELP)
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.add_argument("--limit-errors", type=int, help="errors kept per file (default 1,000)")
    v.set_defaults(func="ingest.commands:cmd_validate")

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
    i.add_argument("--index", action="append", metavar="FIELDS",
                   help="a DataStore index: comma-separated fields, the one filters name most first (e.g. "
                        "province,budget_year); repeat for several; later loads keep them")
    i.add_argument("--remote", help="base URL of a CKAN-compatible portal")
    i.add_argument("--token", help="API token for --remote")
    i.set_defaults(func="ingest.commands:cmd_ingest")

    sp = sub.add_parser("spending", help="the spending explorer's model").add_subparsers(dest="spending_command",
                                                                                         required=True)
    sr = with_db(sp.add_parser("rebuild", help="rebuild dimensions, facts, rollups and red flags from the feeds"))
    sr.set_defaults(func="ingest.commands:cmd_spending_rebuild")


def _harvest_commands(sub, with_db):
    h = sub.add_parser("harvest", help="harvest agency catalogues (CKAN or DCAT)").add_subparsers(
        dest="harvest_command", required=True)
    a = with_db(h.add_parser("add", help="add a harvest source"))
    a.add_argument("name")
    a.add_argument("url", help="a CKAN portal's address, or a DCAT document (URL or file)")
    a.add_argument("--type", choices=HARVEST_TYPES, default="ckan")
    a.add_argument("--org", help="put every dataset under this local organization (default: the remote ones)")
    a.add_argument("--fq", help="a filter query for a CKAN source, e.g. organization:moph")
    a.add_argument("--every", help="run on this schedule inside khlang serve, e.g. 1d, 6h")
    a.set_defaults(func="ingest.harvestcommands:cmd_add")
    r = with_db(h.add_parser("run", help="run a source (or all) now"))
    r.add_argument("name", nargs="?")
    r.set_defaults(func="ingest.harvestcommands:cmd_run")
    ls = with_db(h.add_parser("list", help="list the sources"))
    ls.set_defaults(func="ingest.harvestcommands:cmd_list")
    lg = with_db(h.add_parser("log", help="a source's runs and what they skipped"))
    lg.add_argument("name")
    lg.set_defaults(func="ingest.harvestcommands:cmd_log")


def _command(name):
    """The function a command names as "module:function", imported now (the heavy parts load only when used)."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv=None):
    """Entry point of the `khlang` console script (and the in-process runner tests call)."""
    args = build_parser().parse_args(argv)
    problem = database_problem(args.db) if getattr(args, "db", None) else None
    if problem:
        print(f"error: --db: {problem}", file=sys.stderr)
        return 2
    try:
        return _command(args.func)(args) or 0
    except SettingError as exc:   # one line naming the setting; nothing was created
        text = str(exc)
        if getattr(args, "db", None) and text.startswith("KHLANG_DB: "):
            text = "--db: " + text[len("KHLANG_DB: "):]   # the setting as the user gave it
        print(f"error: {text}", file=sys.stderr)
        return 2
    except catalog_db.SchemaTooNew as exc:
        print(f"error: {'--db' if getattr(args, 'db', None) else 'KHLANG_DB'}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
