"""The `khlang` command line: the one entry above every part (catalog, spending, ingest, web).

The argparse tree is built from light modules only, and each command names its function as "module:function",
imported when it runs, so `khlang --help` answers without loading DuckDB, pandas, frictionless or Flask."""
import argparse
import getpass
import importlib
import os
import socket
import sys
import threading
import time

import spending  # noqa: F401  (registers spending's own migrations, so every database this opens has its tables)
from catalog.context import Context
from catalog.errors import ValidationError
from catalog.harvestsources import TYPES as HARVEST_TYPES
from catalog.params import slug_error
from catalog.settings import SettingError, Settings, database_problem
from catalog.store import db as catalog_db
from catalog.store import packages as package_store
from catalog.users import create_token, create_user, set_password, system_user
from catalog.store.users import get_user

SOURCE_HELP = ("source format: kaogeek-budget, bbgfproject, mof-ministry, mof-monthly-moi, mof-monthly, budget-act, "
               "egp-csv, csv, xlsx, json")


def _settings(args):
    return Settings.from_env(db_path=getattr(args, "db", None))


def _port(text):
    """argparse type of --port: a TCP port number."""
    try:
        port = int(text)
    except (TypeError, ValueError):
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535 (got {text!r})")
    return port


def _port_free(host, port):
    """None when this process may listen on host:port, else why not (in one line)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def cmd_serve(args):
    """Serve the site and API with waitress (threaded, production-grade)."""
    problem = _port_free(args.host, args.port)
    if problem:
        print(f"error: --port: cannot listen on {args.host}:{args.port} ({problem})", file=sys.stderr)
        return 2
    # The web server's parts load only for the commands that serve.
    from waitress import serve

    from catalog.integrity import sweep_leftovers
    from catalog.thaitext import words
    from ingest.worker import start_thread
    from web import create_app

    settings = _settings(args)
    app = create_app({"SETTINGS": settings})
    sweep_leftovers(settings)   # temporary files of a server or ingest that was killed
    # The Thai dictionary (about 1 s) loads beside the server starting, not in the first visitor's search.
    threading.Thread(target=words, args=("ภาษีไปไหน",), name="khlang-dictionary", daemon=True).start()
    start_thread(settings)  # background loads of uploaded files (CKAN xloader's job)
    print(f"Khlang serving {settings.db_path} on http://{args.host}:{args.port}/", flush=True)
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="khlang",
          # Above Flask's own limit, so an oversized upload gets the API's 413 envelope; still a hard stop.
          max_request_body_size=settings.max_upload_mb * 1024 * 1024 + 4 * 1024 * 1024)


def cmd_user_add(args):
    password = args.password
    if password is None:
        password = _ask_password()
        if password is None:
            return 2
    db = catalog_db.connect(_settings(args).db_path)
    try:
        row = create_user(db, args.name, email=args.email, password=password, sysadmin=args.sysadmin)
    except ValidationError as exc:
        print(f"error: {exc.summary()}", file=sys.stderr)
        return 1
    print(f"created user {row['name']}{' (sysadmin)' if row['sysadmin'] else ''}")
    return 0


def _ask_password():
    """The password typed twice on the terminal (never echoed, never in the shell history), or None."""
    if not sys.stdin.isatty():
        print("error: --password is required when no terminal is attached", file=sys.stderr)
        return None
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        print("error: the passwords differ", file=sys.stderr)
        return None
    return first


def _user_or_say(db, name):
    """The user called `name`, or None after saying there is none."""
    user = get_user(db, name)
    if not user:
        print(f"error: no user {name!r}", file=sys.stderr)
    return user


def cmd_user_password(args):
    """Set a user's password (asked on the terminal); every session of that user ends."""
    db = catalog_db.connect(_settings(args).db_path)
    user = _user_or_say(db, args.name)
    if not user:
        return 1
    password = args.password if args.password is not None else _ask_password()
    if password is None:
        return 2
    try:
        set_password(db, user["id"], password)
    except ValidationError as exc:
        print(f"error: {exc.summary()}", file=sys.stderr)
        return 1
    print(f"password of {user['name']} changed; their other sessions have ended")
    return 0


def cmd_token_add(args):
    db = catalog_db.connect(_settings(args).db_path)
    user = _user_or_say(db, args.name)
    if not user:
        return 1
    print(create_token(db, user["id"], args.token_name))
    return 0


def cmd_seed_demo(args):
    """Seed the demo: the real public data by default, or the labelled synthetic one with --synthetic."""
    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    if package_store.any_package(db) and not args.force:
        print("catalogue is not empty; use --force to add the demo anyway")
        return 0
    started = time.perf_counter()
    admin = system_user(db)
    ctx = Context(db=db, settings=settings, user=admin, site_url=settings.site_url)
    if getattr(args, "synthetic", False):
        _seed_synthetic(ctx, db, settings, args)
    else:
        _seed_real(ctx, db, settings)
    _print_site_counts(db, settings)
    print(f"demo ready in {time.perf_counter() - started:.1f} s")
    db.close()
    return 0


def _seed_real(ctx, db, settings):
    # The loading parts (DuckDB, frictionless) load only for the commands that load.
    from catalog.store import sitemeta
    from catalog.store.db import transaction
    from ingest.realdata import manifest, seed_mirror, seed_spending_files
    from spending.build import rebuild

    doc = manifest()
    with transaction(db):
        sitemeta.put(db, "demo", "real")
    counts = seed_mirror(ctx, doc)
    print(f"mirrored {counts['datasets']:,} data.go.th datasets ({counts['resources']:,} resource links) of "
          f"{counts['organizations']} new organizations")
    print("loading the real spending files through the ingest path:")
    loaded = seed_spending_files(ctx, doc, progress=print)
    built = rebuild(settings, db)
    print(f"loaded {len(loaded)} resources; spending model built in {built['seconds']} s")


def _seed_synthetic(ctx, db, settings, args):
    # The loading parts (DuckDB, pandas) load only for the commands that load.
    from catalog.demo import seed_demo
    from ingest.worker import run_pending
    from spending.synthetic import seed_spending

    counts = seed_demo(db, settings, sysadmin=ctx.user)
    print(f"seeded synthetic demo: {counts['organizations']} organizations, {counts['groups']} groups, "
          f"{counts['datasets']} datasets")
    spent = seed_spending(ctx, contracts=getattr(args, "contracts", 20000))
    print(f"seeded synthetic spending: {spent['budget_lines']:,} budget lines, {spent['contracts']:,} contracts "
          f"(model built in {spent['build_seconds']} s)")
    # The site is announced only when every uploaded file has its table, so no preview is missing at first.
    print(f"loaded {run_pending(settings, db)} uploaded files into the DataStore")


def _print_site_counts(db, settings):
    """What an anonymous visitor's home page will count, so the two never disagree."""
    # The search (and its Thai dictionary) loads only when counting.
    from catalog.groups import organization_list
    from catalog.search import package_search

    anon = Context(db=db, settings=settings, user=None, site_url=settings.site_url)
    public = package_search(anon, {"rows": 0})["count"]
    orgs = len(organization_list(anon, {}))
    everything = package_search(Context(db=db, settings=settings, user=system_user(db), site_url=""),
                                {"rows": 0, "include_private": True})["count"]
    print(f"the site shows {public:,} public datasets ({everything - public:,} private) of {orgs} organizations")


def cmd_demo(args):
    problem = _port_free(args.host, args.port)
    if problem:   # before seeding, not after a minute of it
        print(f"error: --port: cannot listen on {args.host}:{args.port} ({problem})", file=sys.stderr)
        return 2
    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    if not package_store.any_package(db):
        args.force = False
        args.synthetic = getattr(args, "synthetic", False)
        cmd_seed_demo(args)
    db.close()
    return cmd_serve(args)


def cmd_migrate(args):
    """Apply every migration the catalogue lacks (the catalogue's, then spending's); `serve` does this at start."""
    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    versions = catalog_db.versions(db)
    db.close()
    print(f"{settings.db_path}: " + ", ".join(f"{part} at migration {v}" for part, v in versions.items()))
    return 0


def cmd_backup(args):
    """Write a consistent snapshot of the catalogue and the storage folder to a new folder, while serving."""
    from catalog import backup  # copies with DuckDB-free code, but checks with integrity (DuckDB) afterwards

    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    try:
        summary = backup.backup(settings, db, args.dest)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"backed up {settings.db_path} and {settings.storage_dir} to {args.dest} "
          f"({summary['files']:,} files, {summary['seconds']} s)")
    return 0


def cmd_restore(args):
    """Make a backup folder this node's catalogue and storage (both must be new), then check it whole."""
    from catalog import backup  # the check reads every stored file with DuckDB

    settings = _settings(args)
    try:
        problems = backup.restore(args.src, settings)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(f"{p['kind']} {p['what']}: {p['detail']}", file=sys.stderr)
    print(f"restored {args.src} into {settings.db_path}" + (" and checked it whole" if not problems
                                                             else f"; {len(problems)} problem(s) found"))
    return 1 if problems else 0


def cmd_reindex(args):
    from catalog.searchindex import rebuild  # the Thai dictionary loads only for the commands that index

    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    n = rebuild(Context(db=db, settings=settings, user={"id": None, "name": "cli", "sysadmin": True}))
    print(f"reindexed {n} datasets")
    return 0


def cmd_check(args):
    """Check the catalogue and every stored file by sha256; exit 1 when something is damaged."""
    from catalog.integrity import check, sweep_leftovers  # DuckDB loads only for the commands that read tables

    settings = _settings(args)
    for path in sweep_leftovers(settings):
        print(f"removed leftover of a stopped writer: {path}")
    db = catalog_db.connect(settings.db_path)
    problems = check(settings, db)
    db.close()
    for p in problems:
        print(f"{p['kind']} {p['what']}: {p['detail']}", file=sys.stderr)
    print("store is whole" if not problems else f"{len(problems)} problem(s) found")
    return 1 if problems else 0


def cmd_jobs_run(args):
    from ingest.worker import run_pending  # the loading parts load only for the commands that load

    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    n = run_pending(settings, db)
    print(f"ran {n} background load(s)")
    return 0


def build_parser():
    """The argparse tree of every command."""
    p = argparse.ArgumentParser(prog="khlang", description="Khlang open-data catalogue and spending explorer")
    sub = p.add_subparsers(dest="command", required=True)

    def with_db(sp):
        sp.add_argument("--db", help="catalogue database (default $KHLANG_DB or data/khlang.db)")
        return sp

    for name, fn in (("serve", cmd_serve), ("demo", cmd_demo)):
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
    ua.set_defaults(func=cmd_user_add)
    up = with_db(user.add_parser("password", help="change a user's password (ends their sessions)"))
    up.add_argument("name")
    up.add_argument("--password", help="(asked on the terminal when left out)")
    up.set_defaults(func=cmd_user_password)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="token_command", required=True)
    ta = with_db(token.add_parser("add", help="create an API token and print it"))
    ta.add_argument("name")
    ta.add_argument("--token-name", default="cli")
    ta.set_defaults(func=cmd_token_add)

    sd = with_db(sub.add_parser("seed-demo", help="load the real public data of data/real/ (or --synthetic data)"))
    sd.add_argument("--force", action="store_true")
    sd.add_argument("--synthetic", action="store_true", help="the labelled synthetic demo for scale tests instead")
    sd.add_argument("--contracts", type=int, default=20000,
                    help="with --synthetic: synthetic e-GP contracts (up to 10,000,000)")
    sd.set_defaults(func=cmd_seed_demo)

    ck = with_db(sub.add_parser("check", help="check the catalogue and every stored file by sha256"))
    ck.set_defaults(func=cmd_check)

    mg = with_db(sub.add_parser("migrate", help="apply the migrations the catalogue lacks (serve does this at start)"))
    mg.set_defaults(func=cmd_migrate)

    bk = with_db(sub.add_parser("backup", help="snapshot the catalogue and storage into a new folder (while serving)"))
    bk.add_argument("dest", help="a new, empty folder")
    bk.set_defaults(func=cmd_backup)
    rs = with_db(sub.add_parser("restore", help="make a backup this node's catalogue and storage (both new)"))
    rs.add_argument("src", help="a folder written by khlang backup")
    rs.set_defaults(func=cmd_restore)

    ri = with_db(sub.add_parser("reindex", help="rebuild the search index"))
    ri.set_defaults(func=cmd_reindex)

    jobs = sub.add_parser("jobs", help="background loads").add_subparsers(dest="jobs_command", required=True)
    jr = with_db(jobs.add_parser("run", help="run pending background loads now, then exit"))
    jr.set_defaults(func=cmd_jobs_run)

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


def _command(func):
    """A command function, or its "module:function" name imported now (the heavy parts load only when used)."""
    if callable(func):
        return func
    module, _, name = func.partition(":")
    return getattr(importlib.import_module(module), name)


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
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except catalog_db.SchemaTooNew as exc:
        print(f"error: {'--db' if getattr(args, 'db', None) else 'KHLANG_DB'}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
