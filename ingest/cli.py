"""The `khlang` command line: serve, users and tokens, demo data, validate and ingest."""
import argparse
import os
import sys

from catalog.store import db as catalog_db
from catalog.settings import Settings


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
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def cmd_serve(args):
    """Serve the site and API with waitress (threaded, production-grade)."""
    from waitress import serve

    problem = _port_free(args.host, args.port)
    if problem:
        print(f"error: --port: cannot listen on {args.host}:{args.port} ({problem})", file=sys.stderr)
        return 2

    from web import create_app

    from .worker import start_thread

    from catalog.integrity import sweep_leftovers

    settings = _settings(args)
    app = create_app({"SETTINGS": settings})
    sweep_leftovers(settings)   # temporary files of a server or ingest that was killed
    from catalog.thaitext import words

    words("ภาษีไปไหน")   # loads the Thai dictionary now, not in the first visitor's search (about 1 s)
    start_thread(settings)  # background loads of uploaded files (CKAN xloader's job)
    print(f"Khlang serving {settings.db_path} on http://{args.host}:{args.port}/", flush=True)
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="khlang",
          # Above Flask's own limit, so an oversized upload gets the API's 413 envelope; still a hard stop.
          max_request_body_size=settings.max_upload_mb * 1024 * 1024 + 4 * 1024 * 1024)


def _sysadmin_for_cli(db):
    from catalog.users import system_user

    return system_user(db)


def cmd_user_add(args):
    from catalog.errors import ValidationError
    from catalog.users import create_user

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
    import getpass

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
    from catalog.users import get_user

    user = get_user(db, name)
    if not user:
        print(f"error: no user {name!r}", file=sys.stderr)
    return user


def cmd_user_password(args):
    """Set a user's password (asked on the terminal); every session of that user ends."""
    from catalog.errors import ValidationError
    from catalog.users import set_password

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
    from catalog.users import create_token

    db = catalog_db.connect(_settings(args).db_path)
    user = _user_or_say(db, args.name)
    if not user:
        return 1
    print(create_token(db, user["id"], args.token_name))
    return 0


def cmd_seed_demo(args):
    """Seed the demo: the real public data by default, or the labelled synthetic one with --synthetic."""
    import time

    from catalog.context import Context

    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    if db.execute("SELECT 1 FROM packages LIMIT 1").fetchone() and not args.force:
        print("catalogue is not empty; use --force to add the demo anyway")
        return 0
    started = time.perf_counter()
    admin = _sysadmin_for_cli(db)
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
    from catalog.store import sitemeta
    from catalog.store.db import transaction
    from spending.build import rebuild

    from .realdata import manifest, seed_mirror, seed_spending_files

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
    from catalog.demo import seed_demo
    from spending.synthetic import seed_spending

    from .worker import run_pending

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
    from catalog.context import Context
    from catalog.groups import organization_list
    from catalog.search import package_search

    anon = Context(db=db, settings=settings, user=None, site_url=settings.site_url)
    public = package_search(anon, {"rows": 0})["count"]
    orgs = len(organization_list(anon, {}))
    everything = package_search(Context(db=db, settings=settings, user=_sysadmin_for_cli(db), site_url=""),
                                {"rows": 0, "include_private": True})["count"]
    print(f"the site shows {public:,} public datasets ({everything - public:,} private) of {orgs} organizations")


def cmd_demo(args):
    problem = _port_free(args.host, args.port)
    if problem:   # before seeding, not after a minute of it
        print(f"error: --port: cannot listen on {args.host}:{args.port} ({problem})", file=sys.stderr)
        return 2
    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    if not db.execute("SELECT 1 FROM packages LIMIT 1").fetchone():
        args.force = False
        args.synthetic = getattr(args, "synthetic", False)
        cmd_seed_demo(args)
    db.close()
    return cmd_serve(args)


def cmd_reindex(args):
    from catalog.context import Context
    from catalog.searchindex import rebuild

    settings = _settings(args)
    db = catalog_db.connect(settings.db_path)
    n = rebuild(Context(db=db, settings=settings, user={"id": None, "name": "cli", "sysadmin": True}))
    print(f"reindexed {n} datasets")
    return 0


def cmd_check(args):
    """Check the catalogue and every stored file by sha256; exit 1 when something is damaged."""
    from catalog.integrity import check, sweep_leftovers

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
    from .worker import run_pending

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

    ri = with_db(sub.add_parser("reindex", help="rebuild the search index"))
    ri.set_defaults(func=cmd_reindex)

    jobs = sub.add_parser("jobs", help="background loads").add_subparsers(dest="jobs_command", required=True)
    jr = with_db(jobs.add_parser("run", help="run pending background loads now, then exit"))
    jr.set_defaults(func=cmd_jobs_run)

    from .commands import add_commands
    from .harvestcommands import add_commands as add_harvest_commands

    add_commands(sub, with_db)
    add_harvest_commands(sub, with_db)
    return p


def main(argv=None):
    """Entry point of the `khlang` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
