"""Reference tables of the spending model: the 77 provinces, ministries and their other names."""
import gzip
import json
import re
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
CENTRAL = 0        # GFMIS's ส่วนกลาง pseudo-province
UNSPECIFIED = 99   # no province in the source, or a split that does not add up
CENTRAL_NAMES = ("ส่วนกลาง",)


@lru_cache(maxsize=1)
def provinces_doc():
    """The authored province table (codes, names, regions, centroids)."""
    return json.loads((HERE / "provinces.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def names_doc():
    """Ministries with English names and aliases, total-row labels and agency abbreviations."""
    return json.loads((HERE / "names.json").read_text(encoding="utf-8"))


def province_rows():
    """(province_id, code, name_th, name_en, region_id, region_th, region_en, lat, lon) incl. central/unspecified."""
    doc = provinces_doc()
    rows = []
    for p in doc["provinces"]:
        th, en = doc["regions"][str(p["region"])]
        rows.append((int(p["code"]), p["code"], p["name_th"], p["name_en"], p["region"], th, en, p["lat"], p["lon"]))
    rows.append((CENTRAL, "00", "ส่วนกลาง", "Central government", 0, "ส่วนกลาง", "Central", None, None))
    rows.append((UNSPECIFIED, "99", "ไม่ระบุจังหวัด", "Province not specified", 0, "ไม่ระบุ", "Not specified", None, None))
    return rows


def province_aliases():
    """{spelling: province_id} for every name, English name, code and alias (prefix จังหวัด handled in SQL)."""
    doc = provinces_doc()
    out = {}
    for pid, code, th, en, *_ in province_rows():
        out[th] = out[en] = out[code] = pid
    for alias, code in doc["aliases"].items():
        out[alias] = int(code)
    for name in CENTRAL_NAMES:
        out[name] = CENTRAL
    return out


def ministry_aliases():
    """{spelling: canonical ministry name}."""
    out = {}
    for m in names_doc()["ministries"]:
        out[m["name"]] = m["name"]
        for a in m["aliases"]:
            out[a] = m["name"]
    return out


def _insert(cur, table, rows):
    # One statement with every row bound: DuckDB's executemany runs a statement per row (0.2 s here).
    rows = list(rows)
    if rows:
        marks = "(" + ", ".join("?" * len(rows[0])) + ")"
        cur.execute(f"INSERT INTO {table} VALUES " + ", ".join([marks] * len(rows)), [v for r in rows for v in r])


def install(cur):
    """Create the reference tables and name-cleaning macros on a DuckDB cursor."""
    cur.execute("CREATE OR REPLACE MACRO khl_clean(s) AS "
                r"nullif(regexp_replace(trim(regexp_replace(CAST(s AS VARCHAR), '\s+', ' ', 'g')), '\s*\(\d+\)$', ''), '')")
    abbr = names_doc()["agency_abbreviations"]
    expr = "khl_clean(s)"
    for short, full in abbr.items():
        expr = f"replace({expr}, '{short}', '{full}')"
    cur.execute(f"CREATE OR REPLACE MACRO khl_agency_key(s) AS {expr}")
    cur.execute("CREATE OR REPLACE TABLE ref_province (province_id SMALLINT, code VARCHAR, name_th VARCHAR, "
                "name_en VARCHAR, region_id SMALLINT, region_th VARCHAR, region_en VARCHAR, lat DOUBLE, lon DOUBLE)")
    _insert(cur, "ref_province", province_rows())
    cur.execute("CREATE OR REPLACE TABLE ref_province_alias (alias VARCHAR, province_id SMALLINT)")
    _insert(cur, "ref_province_alias", province_aliases().items())
    cur.execute("CREATE OR REPLACE MACRO khl_province_key(s) AS "
                "regexp_replace(khl_clean(s), '^(จังหวัด|จ\\.)\\s*', '')")
    cur.execute("CREATE OR REPLACE TABLE ref_ministry (name VARCHAR, name_en VARCHAR, ord INTEGER)")
    _insert(cur, "ref_ministry", [(m["name"], m["name_en"], i) for i, m in enumerate(names_doc()["ministries"])])
    cur.execute("CREATE OR REPLACE TABLE ref_ministry_alias (alias VARCHAR, name VARCHAR)")
    _insert(cur, "ref_ministry_alias", ministry_aliases().items())
    cur.execute("CREATE OR REPLACE TABLE ref_total_label (label VARCHAR)")
    _insert(cur, "ref_total_label", [(t,) for t in names_doc()["totals"]])


def tile_layout(cell=0.62):
    """{province_id: (col, row)} of a tile cartogram: each province takes the free grid cell nearest its centroid."""
    provs = [p for p in provinces_doc()["provinces"]]
    # Place crowded provinces (Bangkok's ring) first so they stay near their true spot.
    def crowding(p):
        return -sum(1 for q in provs if abs(q["lat"] - p["lat"]) < 0.8 and abs(q["lon"] - p["lon"]) < 0.8)
    taken, out = set(), {}
    lon0, lat1 = min(p["lon"] for p in provs), max(p["lat"] for p in provs)
    for p in sorted(provs, key=crowding):
        x, y = (p["lon"] - lon0) / cell, (lat1 - p["lat"]) / cell
        best = min(((c, r) for c in range(int(x) - 4, int(x) + 6) for r in range(int(y) - 4, int(y) + 6)
                    if (c, r) not in taken), key=lambda cr: (cr[0] + 0.5 - x) ** 2 + (cr[1] + 0.5 - y) ** 2)
        taken.add(best)
        out[int(p["code"])] = best
    c0, r0 = min(c for c, _ in out.values()), min(r for _, r in out.values())
    return {k: (c - c0, r - r0) for k, (c, r) in out.items()}


def _geo_key(text):
    """A province spelling folded for matching GeoJSON names ("Phangnga" = "Phang Nga", "Bangkok Metropolis")."""
    s = re.sub(r"[\s\-_.']+", "", str(text or "").lower())
    return re.sub(r"(province|metropolis|จังหวัด)", "", s)


def geojson_provinces(path):
    """The GeoJSON at `path` with each feature's `id` set to its province id (features that match no
    province are dropped), or None when there is no file. Names, codes or ISO 3166-2 (TH-xx) match."""
    if not path:
        return None
    raw = Path(path).read_bytes()
    doc = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    keys = {_geo_key(name): pid for name, pid in province_aliases().items()}
    keys.update({f"th{pid}": pid for pid in keys.values()})
    features = []
    for feature in doc.get("features", []):
        props = feature.get("properties") or {}
        pid = next((keys[_geo_key(v)] for v in props.values() if isinstance(v, (str, int)) and _geo_key(v) in keys),
                   None)
        if pid is not None and pid not in (CENTRAL, UNSPECIFIED):
            features.append({**feature, "id": pid})
    return {"type": "FeatureCollection", "features": features}
