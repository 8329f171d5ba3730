"""Message catalogs: every string of the site has a Thai translation, and the compiled catalog is current."""
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from conftest import ROOT

PO = ROOT / "web" / "translations" / "th" / "LC_MESSAGES" / "messages.po"


def _extracted():
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    return {msg[2] if isinstance(msg[2], str) else msg[2][0]
            for msg in extract_from_dir(str(ROOT), method_map, keywords={"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)})}


def test_every_message_of_the_site_has_a_thai_translation():
    with open(PO, "rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(_extracted() - translated)
    assert missing == [], f"run scripts/i18n.py and translate: {missing[:20]}"


def test_the_compiled_catalog_matches_the_po_file():
    with open(PO, "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with open(PO.with_suffix(".mo"), "rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    assert mo == po, "run: pybabel compile -d web/translations"
