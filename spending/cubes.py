"""The cubes of the spending model: dimensions, attributes and measures, described once.

Every SQL identifier the query layer uses comes from these tables; request values only ever arrive
as bound parameters.
"""
from dataclasses import dataclass, field

from . import build


class CubeError(Exception):
    """A request the cube API cannot answer (HTTP 400), with the allowed values when useful."""

    def __init__(self, message, allowed=None):
        super().__init__(message)
        self.message = message
        self.allowed = allowed


@dataclass(frozen=True)
class Dimension:
    """A dimension: the fact columns it needs, the joins that reach its table and its attributes {name: SQL}."""

    name: str
    label_th: str
    label_en: str
    fact_columns: tuple
    key: str                      # attribute that names a member (cuts and the cell's plain key)
    attributes: dict
    joins: tuple = ()             # (alias, file, ON condition) in dependency order
    types: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    name: str
    label_th: str
    label_en: str
    fact_sql: str                 # aggregate over the fact file
    rollup_sql: str = None        # aggregate over a rollup file (None: facts only)


@dataclass(frozen=True)
class Cube:
    name: str
    label_th: str
    label_en: str
    facts: str
    where: str
    counted: bool
    dimensions: tuple
    measures: tuple
    rollups: tuple = ()
    fact_fields: tuple = ()       # (name, SQL) of /facts rows
    sorted_facts: dict = field(default_factory=dict)   # {ORDER BY of /facts: copy of the facts in that order}
    rollup_needs_cut: dict = field(default_factory=dict)   # {rollup: fact column it is sorted by and must be cut on}
    project_index: str = None     # file of (project_id, agency_id) for /facts?project_id=

    def dimension(self, name):
        for d in self.dimensions:
            if d.name == name:
                return d
        raise CubeError(f'unknown dimension "{name}" in cube {self.name}', [d.name for d in self.dimensions])


def _year():
    return Dimension("fiscal_year", "ปีงบประมาณ", "Fiscal year", ("fiscal_year",), "fiscal_year",
                     {"fiscal_year": "f.fiscal_year", "ce": "f.fiscal_year - 543"},
                     types={"fiscal_year": "integer", "ce": "integer"})


def _month():
    return Dimension("month", "เดือน", "Month", ("month",), "month", {"month": "f.month"}, types={"month": "integer"})


def _named(name, th, en, col, file, extra=None, joins=(), alias=None):
    alias = alias or name[:3] + "_d"
    attrs = {"id": f"{alias}.id", "name": f"{alias}.name", **(extra or {})}
    return Dimension(name, th, en, (col,), "name", attrs,
                     joins=tuple(joins) + ((alias, file, f"{alias}.id = f.{col}"),), types={"id": "integer"})


def _province(col="province_id"):
    a = "prv_d"
    return Dimension("province", "จังหวัด", "Province", (col,), "name",
                     {"id": f"{a}.province_id", "name": f"{a}.name_th", "name_en": f"{a}.name_en", "code": f"{a}.code",
                      "region": f"{a}.region_th", "region_en": f"{a}.region_en"},
                     joins=((a, "ref_province", f"{a}.province_id = f.{col}"),), types={"id": "integer"})


def _source():
    a = "src_d"
    return Dimension("source", "ชุดข้อมูลต้นทาง", "Source dataset", ("source_id",), "dataset",
                     {"id": f"{a}.source_id", "dataset": f"{a}.package_name", "title": f"{a}.package_title",
                      "resource_id": f"{a}.resource_id", "resource": f"{a}.resource_name", "format": f"{a}.source",
                      "granularity": f"{a}.granularity"},
                     joins=((a, "src", f"{a}.source_id = f.source_id"),), types={"id": "integer"})


def _ministry_via_agency():
    return Dimension("ministry", "กระทรวง", "Ministry", ("agency_id",), "name",
                     {"id": "min_d.id", "name": "min_d.name", "name_en": "min_d.name_en"},
                     joins=(("aga_d", "d_agency", "aga_d.id = f.agency_id"), ("min_d", "d_ministry", "min_d.id = aga_d.ministry_id")),
                     types={"id": "integer"})


AMOUNT = Measure("amount", "จำนวนเงิน (บาท)", "Amount (baht)", "sum(f.amount)")
COUNT = Measure("_count", "จำนวนรายการ", "Count", "count(*)")


def _budget_cube(name, phase, th, en, extra_dims=()):
    return Cube(name, th, en, "budget", f"f.phase = '{phase}'", True, (
        _year(), *extra_dims,
        _named("ministry", "กระทรวง", "Ministry", "ministry_id", "d_ministry", {"name_en": "min_d.name_en"}, alias="min_d"),
        _named("agency", "หน่วยรับงบประมาณ", "Agency", "agency_id", "d_agency", alias="age_d"),
        _named("plan", "แผนงาน", "Plan", "plan_id", "d_plan"),
        _named("project", "ผลผลิต/โครงการ", "Output/project", "bproject_id", "d_bproject"),
        _named("category", "งบรายจ่าย", "Budget category", "category_id", "d_category"),
        _province(), _source()),
        (AMOUNT, COUNT, Measure("split_mismatch", "บรรทัดที่แยกรายจังหวัดไม่ลงตัว", "Rows whose province split does not add up",
                                "count(*) FILTER (WHERE f.split_ok = false)")),
        fact_fields=(("source_row", "f.source_row"), ("fiscal_year", "f.fiscal_year"), ("month", "f.month"),
                     ("ministry", "min_d.name"), ("agency", "age_d.name"), ("plan", "pla_d.name"),
                     ("project", "pro_d.name"), ("category", "cat_d.name"), ("province", "prv_d.name_th"),
                     ("item", "f.item"), ("amount", "f.amount"), ("split_ok", "f.split_ok"),
                     ("source", "src_d.package_name")))


def _procurement():
    measures = (
        Measure("amount", "มูลค่าสัญญา (บาท)", "Contract value (baht)", "sum(f.price_agree)", "sum(f.amount)"),
        Measure("budget", "งบประมาณ (บาท)", "Budget (baht)", "sum(f.project_money)", "sum(f.budget)"),
        Measure("reference_price", "ราคากลาง (บาท)", "Reference price (baht)", "sum(f.price_build)", "sum(f.reference_price)"),
        Measure("_count", "จำนวนสัญญา", "Contracts", "count(*)", "sum(f._count)"),
        Measure("flagged", "สัญญาที่มีสัญญาณเตือน", "Flagged contracts", "count(*) FILTER (WHERE f.flags <> 0)", "sum(f.flagged)"),
    )
    contractor = Dimension(
        "contractor", "ผู้ชนะ/คู่สัญญา", "Contractor", ("contractor_id",), "name",
        {"id": "con_d.id", "name": "con_d.name",
         # Individuals' tax ids are personal data (PDPA): only companies' are shown in full.
         "tin": "CASE WHEN con_d.kind = 'juristic' THEN con_d.tin ELSE left(con_d.tin, 9) || 'xxxx' END",
         "kind": "con_d.kind"},
        joins=(("con_d", "d_contractor", "con_d.id = f.contractor_id"),), types={"id": "integer"})
    method = _named("method", "วิธีจัดซื้อจัดจ้าง", "Procurement method", "method_id", "d_method",
                    {"group": 'met_d."group"'}, alias="met_d")
    group = Dimension("method_group", "กลุ่มวิธี", "Method group", ("method_id",), "name",
                      {"name": 'mgr_d."group"'}, joins=(("mgr_d", "d_method", "mgr_d.id = f.method_id"),))
    flag = Dimension("flag", "สัญญาณเตือน", "Red flag", ("flags",), "name", {"name": "f.flags"})
    return Cube("procurement", "การจัดซื้อจัดจ้าง", "Procurement", "contracts", "true", False, (
        _year(), _month(), _ministry_via_agency(),
        _named("agency", "หน่วยงาน", "Agency", "agency_id", "d_agency", alias="age_d"),
        method, group, _named("project_type", "ประเภทโครงการ", "Project type", "type_id", "d_type", alias="typ_d"),
        _province(), contractor, flag, _source()), measures, rollups=tuple(build.ROLLUPS),
        sorted_facts={("f.price_agree DESC NULLS LAST", "f.source_id, f.source_row"): build.BY_VALUE},
        rollup_needs_cut=build.CUT_ONLY, project_index=build.PROJECT_INDEX,
        fact_fields=(("contract_key", "f.contract_key"), ("project_id", "f.project_id"), ("project_name", "f.project_name"),
                     ("fiscal_year", "f.fiscal_year"), ("agency_id", "f.agency_id"), ("agency", "age_d.name"),
                     ("sub_agency", "f.dept_sub_name"), ("method", "met_d.name"), ("project_type", "typ_d.name"),
                     ("province", "prv_d.name_th"), ("district", "f.district"), ("contractor_id", "f.contractor_id"),
                     ("contractor", "con_d.name"), ("contractor_tin", contractor.attributes["tin"]),
                     ("contract_no", "f.contract_no"), ("announce_date", "f.announce_date"),
                     ("contract_date", "f.contract_date"), ("budget", "f.project_money"),
                     ("reference_price", "f.price_build"), ("price_agreed", "f.price_agree"),
                     ("project_status", "f.project_status"), ("contract_status", "f.contract_status"),
                     ("flags", "f.flags"), ("source", "src_d.package_name"), ("source_row", "f.source_row")))


CUBES = {c.name: c for c in (
    _budget_cube("budget", "appropriated", "งบประมาณที่ได้รับจัดสรร", "Appropriated budget"),
    _budget_cube("disbursement", "disbursed", "การเบิกจ่าย", "Disbursement", extra_dims=(_month(),)),
    _procurement(),
)}


def get(name):
    """The cube called `name`, or CubeError listing the cubes."""
    if name not in CUBES:
        raise CubeError(f'unknown cube "{name}"', list(CUBES))
    return CUBES[name]


def model(cube, lang="th"):
    """Babbage's model document of a cube."""
    label = (lambda o: o.label_en) if lang == "en" else (lambda o: o.label_th)
    dims = {}
    for d in cube.dimensions:
        dims[d.name] = {"label": label(d), "key_attribute": d.key, "label_attribute": d.key, "ref": d.name,
                        "attributes": {a: {"label": a, "ref": f"{d.name}.{a}", "type": d.types.get(a, "string")}
                                       for a in d.attributes}}
    measures = {m.name: {"label": label(m), "ref": m.name, "currency": "THB" if m.name not in ("_count", "flagged",
                                                                                               "split_mismatch") else None}
                for m in cube.measures if m.name != "_count"}
    aggregates = {(f"{m.name}.sum" if m.name != "_count" else "_count"): {"label": label(m), "measure": m.name,
                                                                          "function": "sum" if m.name != "_count" else "count"}
                  for m in cube.measures}
    return {"name": cube.name, "label": label(cube), "dimensions": dims, "measures": measures, "aggregates": aggregates,
            "fact_table": cube.facts}
