"""Budget cubes as Fiscal Data Packages: datapackage.json (with the FDP model) plus the facts as CSV."""
from catalog.datastore import tables

from . import access, cubes, query

DIMENSION_TYPES = {"fiscal_year": "datetime", "month": "datetime", "province": "location", "source": "other"}
BATCH = 20000


def _fields(cube):
    return [name for name, _ in cube.fact_fields]


def datapackage(settings, db, name, site_url):
    """The datapackage.json of a budget cube (profile fiscal-data-package), pointing at its CSV."""
    cube = cubes.get(name)
    if cube.name == "procurement":
        raise cubes.CubeError("Fiscal Data Packages describe budget cubes; contracts are published as OCDS",
                              ["budget", "disbursement"])
    _, manifest, _ = access.live(settings, db)
    types = {"fiscal_year": "integer", "month": "integer", "source_row": "integer", "amount": "number",
             "split_ok": "boolean"}
    fields = [{"name": f, "type": types.get(f, "string")} for f in _fields(cube)]
    dims = {}
    for f in _fields(cube):
        if f in ("amount", "source_row", "split_ok", "item"):
            continue
        dims[f] = {"dimensionType": DIMENSION_TYPES.get(f, "classification"),
                   "attributes": {f: {"source": f}}, "primaryKey": f}
    years = manifest["fiscal_years"]
    return {
        "name": f"khlang-{cube.name}", "title": f"{cube.label_th} ({cube.label_en})",
        # FDP v1 names its profile "fiscal-data-package"; frictionless would fetch that from the web, so the
        # package declares the tabular profile it also satisfies and carries the FDP `model`.
        "profile": "tabular-data-package", "fiscalDataPackage": "1.0", "countryCode": "TH", "currency": "THB",
        "fiscalPeriod": ({"start": f"{min(years) - 544}-10-01", "end": f"{max(years) - 543}-09-30"} if years else None),
        "sources": [{"title": s["package_name"], "path": f"{site_url}/dataset/{s['package_name']}"}
                    for s in manifest["sources"] if s["feed"] != "procurement"],
        "resources": [{"name": cube.name, "profile": "tabular-data-resource", "path": f"{site_url}/api/3/cubes/{cube.name}/data.csv", "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8", "schema": {"fields": fields}}],
        "model": {"measures": {"amount": {"source": "amount", "currency": "THB",
                                          "direction": "expenditure",
                                          "phase": "approved" if cube.name == "budget" else "executed"}},
                  "dimensions": dims},
    }


def rows(settings, db, name):
    """(header, batches) of every counted public fact of a budget cube, for data.csv."""
    cube = cubes.get(name)
    folder, manifest, visible = access.live(settings, db)
    cur = tables.reader(settings)
    q = query.Query(cur, cube, folder, manifest, visible, {})
    result = cur.execute(q.fact_rows_sql(cube.fact_fields, ["f.source_id", "f.source_row"]), q.args)

    def batches():
        try:
            while True:
                chunk = result.fetchmany(BATCH)
                if not chunk:
                    return
                yield [list(r) for r in chunk]
        finally:
            cur.close()

    return _fields(cube), batches()
