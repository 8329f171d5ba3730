"""The commands of the `khlang` command line that belong to no one part: serving, users and tokens, the demo,
migrations, backups, checks and the job queue (validate, ingest and harvest live in ingest/)."""
import getpass
import socket
import sys
import threading
import time

from catalog.context import Context
from catalog.errors import ValidationError
from catalog.settings import Settings, database_label, database_problem, is_postgresql
from catalog.store import db as catalog_db
from catalog.store import packages as package_store
from catalog.store.users import get_user
from catalog.users import create_token, create_user, set_password, system_user


def _settings(args):
    return Settings.from_env(db_path=getattr(args, "db", None))


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

    from .heap import return_freed_memory

    from catalog.integrity import sweep_leftovers
    from catalog.store.searchreplica import warm
    from catalog.thaitext import words
    from ingest.poller import start_thread
    from web import create_app

    return_freed_memory()   # before the server's threads start: each would take an arena of its own
    settings = _settings(args)
    app = create_app({"SETTINGS": settings})
    sweep_leftovers(settings)   # temporary files of a server or ingest that was killed
    # The Thai dictionary (about 1 s) loads beside the server starting, not in the first visitor's search.
    threading.Thread(target=words, args=("ภาษีไปไหน",), name="khlang-dictionary", daemon=True).start()
    start_thread(settings)  # background loads of uploaded files (CKAN xloader's job)
    if is_postgresql(settings.db_path) and settings.search_replica:
        # The node's copy of the search index is built while it starts (or a kept one caught up).
        warm(settings.db_path, settings.search_copy_dir)
    print(f"Khlang serving {database_label(settings.db_path)} on http://{args.host}:{args.port}/", flush=True)
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
    from catalog.searchindex import fill_forgiving  # the Thai dictionary loads only for the commands that index

    db = catalog_db.connect(settings.db_path)
    versions = catalog_db.versions(db)
    filled = fill_forgiving(Context(db=db, settings=settings, user={"id": None, "name": "cli", "sysadmin": True}))
    db.close()
    print(f"{database_label(settings.db_path)}: " + ", ".join(f"{part} at migration {v}" for part, v in versions.items()))
    if filled:
        print(f"indexed the forgiving search text of {filled:,} datasets indexed before it existed")
    return 0


def cmd_copy_to(args):
    """Copy this SQLite catalogue, every table, into a new PostgreSQL database (then point KHLANG_DB at it)."""
    from catalog.store import transfer   # only this command copies catalogues

    settings = _settings(args)
    problem = database_problem(args.url)
    if problem or not is_postgresql(args.url):
        print(f"error: URL: {problem or 'give the postgresql:// URL of a new, empty database'}", file=sys.stderr)
        return 2
    src = catalog_db.connect(settings.db_path)
    dst = catalog_db.connect(args.url)
    try:
        counts = transfer.copy_catalogue(src, dst, progress=lambda table, n: print(f"  {table}: {n:,} rows"))
    except transfer.TransferError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        src.close()
        dst.close()
    print(f"copied {sum(counts.values()):,} rows of {len(counts)} tables into {database_label(args.url)}; "
          f"serve it with KHLANG_DB set to that URL and KHLANG_STORAGE={settings.storage_dir}")
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
    print(f"backed up {database_label(settings.db_path)} and {settings.storage_dir} to {args.dest} "
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
    print(f"restored {args.src} into {database_label(settings.db_path)}" + (" and checked it whole" if not problems
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
