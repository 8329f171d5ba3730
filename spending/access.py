"""The spending API's entry point: the live build, a cursor on the locked-down reader, public sources only."""
from catalog.datastore import tables

from . import answers, build, cubes, query
from .cubes import CubeError


class NoData(CubeError):
    """No spending data has been loaded yet."""


def live(settings, db):
    """(folder, manifest, visible source ids) of the live build, or NoData."""
    folder, manifest = build.current(settings, db)
    if manifest is None:
        raise NoData("no spending data has been loaded yet (khlang ingest with a spending source, or khlang seed-demo)")
    return folder, manifest, query.visible_source_ids(db, manifest)


def run(settings, db, what, cube_name, params, dimension=None):
    """Answer /aggregate, /facts or /members for one cube with the request's params."""
    cube = cubes.get(cube_name)
    folder, manifest, visible = live(settings, db)
    cur = tables.reader(settings)
    try:
        if what == "aggregate":
            return answers.aggregate(cur, cube, folder, manifest, params, visible)
        if what == "facts":
            return answers.facts(cur, cube, folder, manifest, params, visible)
        return answers.members(cur, cube, folder, manifest, dimension, params, visible)
    finally:
        cur.close()


def table_rows(result, what):
    """(header, rows) of an aggregate or facts result, for CSV downloads of exactly what was answered."""
    if what == "aggregate":
        header = result["attributes"] + result["aggregates"]
        return header, [[c.get(h) for h in header] for c in result["cells"]]
    header = result["fields"]
    return header, [[("|".join(v) if isinstance(v, list) else v) for v in (r.get(h) for h in header)]
                    for r in result["data"]]
