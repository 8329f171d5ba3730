"""`khlang harvest add|run|list|log`: harvest sources from the command line (the same actions as the API)."""
import json
import sys
from pathlib import Path

from catalog import actions, harvestsources, jobs
from catalog.store import db as catalog_db
from catalog.context import Context
from catalog.errors import ActionError
from catalog.settings import Settings
from catalog.users import system_user

from . import harvest


def _ctx(args):
    settings = Settings.from_env(db_path=args.db)
    db = catalog_db.connect(settings.db_path)
    return Context(db=db, settings=settings, user=system_user(db))


def cmd_add(args):
    """Add a source; a DCAT source may be a local file."""
    ctx = _ctx(args)
    url = args.url
    if args.type == "dcat" and not url.startswith(("http://", "https://", "file://")):
        url = Path(url).resolve().as_uri()
    try:
        src = harvestsources.create_source(ctx, {"name": args.name, "url": url, "source_type": args.type,
                                                 "org": args.org, "fq": args.fq, "every": args.every},
                                           allow_files=url.startswith("file://"))
    except ActionError as exc:
        print(f"error: {exc.summary() if hasattr(exc, 'summary') else exc}", file=sys.stderr)
        return 2
    print(f"added harvest source {src['name']} ({src['source_type']}) {src['url']}")
    return 0


def cmd_run(args):
    """Run one source (or every source) now, in this process, and print what each run did."""
    ctx = _ctx(args)
    names = [args.name] if args.name else [s["name"] for s in actions.call(ctx, "harvest_source_list", {})]
    status = 0
    for name in names:
        src = harvestsources.get_source(ctx.db, name)
        if src is None:
            print(f"error: no harvest source {name!r}", file=sys.stderr)
            return 2
        harvestsources.fail_orphans(ctx.db)
        job = harvestsources.queue(ctx.db, src["id"])
        claimed = jobs.claim(ctx.db, "harvest_jobs", job["id"])
        if claimed is None:
            print(f"{name}: a run is already going on (job {job['id']}); not started again", file=sys.stderr)
            status = 1
            continue
        with jobs.leased(ctx.settings, "harvest_jobs", claimed["id"]):
            done = harvest.run_job(ctx.settings, ctx.db, claimed, ctx.user)
        print(f"{name}: {done['state']} {json.dumps(done['stats'])}" + (f" error: {done['error']}" if done['error']
                                                                          else ""))
        for line in done["log"][:20]:
            print(f"  skipped {line['remote']}: {line['reason']}")
        status = status or (0 if done["state"] == "complete" else 1)
    return status


def cmd_list(args):
    """Every source with its last run."""
    for s in actions.call(_ctx(args), "harvest_source_list", {}):
        last = s["last_job"]
        print(f"{s['name']}\t{s['source_type']}\t{s['url']}\t{s['dataset_count']} datasets\t"
              + (f"last run {last['state']} {last['finished'] or last['created']}" if last else "never run"))
    return 0


def cmd_log(args):
    """A source's runs, newest first, with what each skipped and why."""
    try:
        jobs = actions.call(_ctx(args), "harvest_job_list", {"id": args.name})
    except ActionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for j in jobs:
        print(f"{j['created']}\t{j['state']}\t{json.dumps(j['stats'])}" + (f"\t{j['error']}" if j["error"] else ""))
        for line in j["log"]:
            print(f"  skipped {line['remote']}: {line['reason']}")
    return 0
