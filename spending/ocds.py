"""e-GP contracts as OCDS 1.1 release packages (one release per e-GP project, awards and contracts inside)."""
import datetime as dt

from . import access

OCID_PREFIX = "ocds-khlang"
PROJECTS_PER_PAGE = 100
METHODS = {"ประกาศเชิญชวนทั่วไป": "open", "คัดเลือก": "selective", "เฉพาะเจาะจง": "direct"}
CATEGORY = {"ซื้อ": "goods", "จ้างก่อสร้าง": "works"}


def _date(d):
    return f"{d.isoformat()}T00:00:00+07:00" if isinstance(d, dt.date) else None


def _value(amount):
    return {"amount": amount, "currency": "THB"} if amount is not None else None


def _clean(obj):
    """Drop empty values: OCDS fields are optional, and null is not allowed where a type is fixed."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if v not in (None, "", [], {})}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _release(project_id, rows, prefix):
    first = rows[0]
    ocid = f"{prefix}-{project_id}"
    buyer = {"id": f"TH-AGENCY-{first['agency_id']}", "name": first["agency"]}
    parties = {buyer["id"]: {**buyer, "roles": ["buyer", "procuringEntity"]}}
    awards, contracts = [], []
    for i, r in enumerate(rows, start=1):
        supplier = None
        if r["contractor_id"]:
            sid = f"TH-TIN-{r['contractor_tin']}" if r["contractor_tin"] else f"TH-KHLANG-{r['contractor_id']}"
            supplier = {"id": sid, "name": r["contractor"]}
            parties.setdefault(sid, {**supplier, "roles": ["supplier"],
                                     "identifier": ({"scheme": "TH-RD", "id": r["contractor_tin"]}
                                                    if r["contractor_tin"] and "x" not in r["contractor_tin"] else None)})
        award_id = f"{project_id}-{i}"
        awards.append({"id": award_id, "status": "active", "value": _value(r["price_agreed"]),
                       "suppliers": [supplier] if supplier else [], "date": _date(r["contract_date"])})
        contracts.append({"id": r["contract_no"] or award_id, "awardID": award_id, "value": _value(r["price_agreed"]),
                          "dateSigned": _date(r["contract_date"]),
                          "status": "cancelled" if (r["contract_status"] or "").startswith("ยกเลิก") else None})
    method_group = first.get("method_group")
    date = max((r["contract_date"] for r in rows if r["contract_date"]), default=None) or first.get("announce_date")
    release = {
        "ocid": ocid, "id": f"{ocid}-{date.isoformat() if date else first['fiscal_year']}",
        "date": _date(date) or f"{first['fiscal_year'] - 544}-10-01T00:00:00+07:00",
        "tag": ["award", "contract"], "initiationType": "tender", "language": "th",
        "parties": list(parties.values()), "buyer": buyer,
        "tender": {"id": project_id, "title": first["project_name"], "value": _value(first["budget"]),
                   "procurementMethod": METHODS.get(method_group), "procurementMethodDetails": first["method"],
                   "mainProcurementCategory": next((v for k, v in CATEGORY.items() if (first["project_type"] or "").startswith(k)),
                                                   "services" if first["project_type"] else None),
                   "procuringEntity": buyer, "tenderPeriod": ({"startDate": _date(first["announce_date"])}
                                                              if first["announce_date"] else None)},
        "awards": awards, "contracts": contracts,
        "planning": {"budget": {"amount": _value(first["budget"]),
                                "description": f"ราคากลาง {first['reference_price']:,} บาท" if first["reference_price"] else None}},
    }
    reasons = sorted({f for r in rows for f in r["flags"]})
    if reasons:
        release["tender"]["description"] = "Khlang red flags: " + ", ".join(reasons)
    return _clean(release)


def release_package(settings, db, params, site_url, project_id=None):
    """An OCDS release package of the projects matching the cuts (paged by project)."""
    fields = "project_id|project_name|fiscal_year|agency_id|agency|method|project_type|contractor_id|contractor|" \
             "contractor_tin|contract_no|announce_date|contract_date|budget|reference_price|price_agreed|" \
             "contract_status|flags"
    args = {**params, "fields": fields, "pagesize": str(PROJECTS_PER_PAGE * 5),
            "order": "project_id:asc"}
    result = access.run(settings, db, "facts", "procurement", args)
    if project_id is not None and not result["data"]:
        raise access.NoData(f'no public e-GP project "{project_id}"')
    groups = {}
    for r in result["data"]:
        groups.setdefault(r["project_id"] or f"row-{id(r)}", []).append(r)
    _, manifest, _ = access.live(settings, db)
    method_groups = _method_groups(settings, db)
    releases = []
    for pid, rows in list(groups.items())[:PROJECTS_PER_PAGE]:
        rows[0]["method_group"] = method_groups.get(rows[0]["method"])
        releases.append(_release(pid, rows, OCID_PREFIX))
    return {"uri": f"{site_url}/api/ocds/releases" + (f"?cut={params.get('cut')}" if params.get("cut") else ""),
            "version": "1.1", "publishedDate": manifest["built_at"] + "+07:00",
            "publisher": {"name": "Khlang"}, "license": "https://opendefinition.org/licenses/odc-by/",
            "publicationPolicy": f"{site_url}/spending/methodology", "releases": releases}


def _method_groups(settings, db):
    res = access.run(settings, db, "members", "procurement", {}, "method")
    return {m["method.name"]: m["method.group"] for m in res["data"]}

