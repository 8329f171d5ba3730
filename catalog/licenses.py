"""Licence register: CKAN's default licences plus the Thai GDC ones."""
import functools

from . import gdc

_CKAN_DEFAULT = [
    ("notspecified", "License not specified", "", "not reviewed"),
    ("odc-pddl", "Open Data Commons Public Domain Dedication and License (PDDL)", "http://www.opendefinition.org/licenses/odc-pddl", "approved"),
    ("odc-odbl", "Open Data Commons Open Database License (ODbL)", "http://www.opendefinition.org/licenses/odc-odbl", "approved"),
    ("odc-by", "Open Data Commons Attribution License", "http://www.opendefinition.org/licenses/odc-by", "approved"),
    ("cc-zero", "Creative Commons CCZero", "http://www.opendefinition.org/licenses/cc-zero", "approved"),
    ("cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by", "approved"),
    ("cc-by-sa", "Creative Commons Attribution Share-Alike", "http://www.opendefinition.org/licenses/cc-by-sa", "approved"),
    ("gfdl", "GNU Free Documentation License", "http://www.opendefinition.org/licenses/gfdl", "approved"),
    ("other-open", "Other (Open)", "", "approved"),
    ("other-pd", "Other (Public Domain)", "", "approved"),
    ("other-at", "Other (Attribution)", "", "approved"),
    ("uk-ogl", "UK Open Government Licence (OGL)", "http://reference.data.gov.uk/id/open-government-licence", "approved"),
    ("cc-nc", "Creative Commons Non-Commercial (Any)", "http://creativecommons.org/licenses/by-nc/2.0/", "not reviewed"),
    ("other-nc", "Other (Non-Commercial)", "", "not reviewed"),
    ("other-closed", "Other (Not Open)", "", "not reviewed"),
]


# Thai names of CKAN's licences, for Thai pages (the API keeps CKAN's English titles); GDC's are in its schema.
_THAI = {
    "notspecified": "ไม่ระบุสัญญาอนุญาต",
    "odc-pddl": "Open Data Commons แบบอุทิศเป็นสาธารณสมบัติ (PDDL)",
    "odc-odbl": "Open Data Commons แบบฐานข้อมูลเปิด (ODbL)",
    "odc-by": "Open Data Commons แบบแสดงที่มา (ODC-By)",
    "cc-zero": "ครีเอทีฟคอมมอนส์ ซีซีศูนย์ (CC0)",
    "cc-by": "ครีเอทีฟคอมมอนส์ แบบแสดงที่มา (CC BY)",
    "cc-by-sa": "ครีเอทีฟคอมมอนส์ แบบแสดงที่มา-อนุญาตแบบเดียวกัน (CC BY-SA)",
    "gfdl": "สัญญาอนุญาตเอกสารเสรีของกนู (GNU FDL)",
    "other-open": "อื่น ๆ (เปิด)",
    "other-pd": "อื่น ๆ (สาธารณสมบัติ)",
    "other-at": "อื่น ๆ (แสดงที่มา)",
    "uk-ogl": "สัญญาอนุญาตรัฐบาลเปิดของสหราชอาณาจักร (UK OGL)",
    "cc-nc": "ครีเอทีฟคอมมอนส์ แบบไม่ใช้เพื่อการค้า (ทุกรุ่น)",
    "other-nc": "อื่น ๆ (ไม่ใช้เพื่อการค้า)",
    "other-closed": "อื่น ๆ (ไม่เปิด)",
}


def _entry(lid, title, url, od):
    # CKAN's DefaultLicense.copy stringifies every value, booleans included.
    return {
        "id": lid, "title": title, "url": url, "status": "active", "maintainer": "", "family": "",
        "domain_content": "False", "domain_data": "False", "domain_software": "False",
        "od_conformance": od, "osd_conformance": "not reviewed", "is_generic": "False",
        "is_okd_compliant": od == "approved", "is_osi_compliant": False,
    }


def register():
    """Every licence, CKAN's first, then GDC's not already present."""
    out = [_entry(*row) for row in _CKAN_DEFAULT]
    seen = {e["id"] for e in out}
    for lic in gdc.gdc_licenses():
        if lic["id"] not in seen:
            out.append(_entry(lic["id"], lic["title"], lic.get("url", ""), lic.get("od_conformance", "not reviewed")))
    return out


_BY_ID = None


def by_id(license_id):
    """The licence dict for an id, or None."""
    global _BY_ID
    if _BY_ID is None:
        _BY_ID = {e["id"]: e for e in register()}
    return _BY_ID.get(license_id)


def title_in(license_id, lang, fallback=None):
    """A licence's name in Thai ("th") or English, for pages; `fallback` (or the id) when it is not registered."""
    names = _page_names().get(license_id)
    if names is None:
        return fallback or license_id
    return names[0] if lang == "th" else names[1]


@functools.lru_cache(maxsize=1)
def _page_names():
    """{licence id: (Thai name, English name)}, made once: pages ask for a name per licence shown."""
    gdc_names = {lic["id"]: lic for lic in gdc.gdc_licenses()}
    out = {}
    for lic in register():
        given = gdc_names.get(lic["id"], {})
        out[lic["id"]] = (_THAI.get(lic["id"]) or given.get("title_th") or lic["title"],
                          given.get("title_en") or lic["title"])
    return out
