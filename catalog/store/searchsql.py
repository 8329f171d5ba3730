"""Compiling CKAN's q/fq (parsed by querysyntax) into SQL over the search index, Thai-aware."""
import json
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from .. import gdc
from ..errors import SearchError
from ..thaitext import normalize, words

# Column weights of bm25 for (title, tags, org, res, notes): title above tags above notes.
WEIGHTS = "10.0, 5.0, 3.0, 2.0, 1.0"
TEXT_FIELDS = {"title": "title", "notes": "notes", "text": None, "res_name": "res", "res_description": "res",
               "tags_text": "tags"}
TERM_FIELDS = {"id", "name", "organization", "owner_org", "groups", "tags", "res_format", "license_id", "type",
               "dataset_type", "creator_user_id", "maintainer", "author", "url"}


@lru_cache(maxsize=1)
def synonyms():
    doc = json.loads((Path(__file__).parent.parent / "synonyms.json").read_text(encoding="utf-8"))
    table = {}
    for group in doc["groups"]:
        forms = sorted({normalize(g) for g in group})
        for f in forms:
            table[f] = forms
    return table




def fts_phrase(text):
    return '"' + text.replace('"', '""') + '"'


def variants(term):
    norm = normalize(term)
    return synonyms().get(norm, [norm])


def _no_expansion(form):
    return None


def fts_form(form, expand):
    """FTS5 MATCH text over search_trigram for one form: its phrase, or for a form shorter than a trigram the
    OR of the index's trigrams holding it (expand, shortterms.expander); None when only a text scan finds it."""
    return fts_phrase(form) if len(form) >= 3 else expand(form)


def text_condition(term, column=None, expand=_no_expansion):
    """SQL matching docs whose text (or one column) contains the term or a synonym."""
    forms = [f for f in variants(term) if f]
    if not forms:
        return "1=1", []
    matched, short_forms = [], []
    for f in forms:
        match = fts_form(f, expand)
        if match:
            matched.append(match)
        else:
            short_forms.append(f)
    parts, args = [], []
    if matched:
        match = " OR ".join(matched)
        if column:
            match = "{%s} : (%s)" % (column, match)
        parts.append("d.doc_id IN (SELECT rowid FROM search_trigram WHERE search_trigram MATCH ?)")
        args.append(match)
    for f in short_forms:
        # Trigram needs 3 code points; shorter forms the index cannot give scan the folded text column.
        parts.append("instr(d.text, ?) > 0")
        args.append(f)
    return "(" + " OR ".join(parts) + ")", args


def field_condition(field, values, expand=_no_expansion):
    if field == "*":
        return "1=1", []
    if field in TEXT_FIELDS:
        conds = [text_condition(v, TEXT_FIELDS[field], expand) for v in values]
        return "(" + " OR ".join(c for c, _ in conds) + ")", [a for _, args in conds for a in args]
    if field == "capacity":
        priv = [v for v in values if v in ("public", "private")]
        if not priv:
            return "0=1", []
        return "(" + " OR ".join("d.private = ?" for _ in priv) + ")", [int(v == "private") for v in priv]
    if field == "state":
        return f"d.state IN ({','.join('?' * len(values))})", values
    if field in ("private",):
        return "d.private = ?", [int(str(values[0]).lower() == "true")]
    if field not in TERM_FIELDS and field not in gdc.choice_fields() and not field.startswith(("extras_", "vocab_")):
        raise SearchError(f"undefined field {field}")
    conds, args = [], []
    for v in values:
        if v == "*":
            conds.append("d.doc_id IN (SELECT doc_id FROM search_terms WHERE field = ?)")
            args.append(field)
        elif v.endswith("*") and "*" not in v[:-1]:
            conds.append("d.doc_id IN (SELECT doc_id FROM search_terms WHERE field = ? AND value LIKE ? ESCAPE '\\')")
            args += [field, v[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]
        else:
            conds.append("d.doc_id IN (SELECT doc_id FROM search_terms WHERE field = ? AND value = ?)")
            args += [field, v]
    return "(" + " OR ".join(conds) + ")", args


def range_condition(node):
    cols = {"metadata_modified": "d.metadata_modified", "metadata_created": "d.metadata_created"}
    if node.field not in cols:
        raise SearchError(f"Range queries are supported on {sorted(cols)}, not {node.field}")
    conds, args = [], []
    for bound, op_incl, op_excl, incl in ((node.low, ">=", ">", node.incl_low), (node.high, "<=", "<", node.incl_high)):
        if bound is None:
            continue
        value = solr_date(bound)
        conds.append(f"{cols[node.field]} {op_incl if incl else op_excl} ?")
        args.append(value)
    return ("(" + " AND ".join(conds) + ")" if conds else "1=1"), args


def solr_date(value):
    v = value.rstrip("Z")
    if v.upper().startswith("NOW"):
        m = re.fullmatch(r"NOW(?:-(\d+)(DAY|DAYS|HOUR|HOURS|MONTH|MONTHS|YEAR|YEARS))?(?:/DAY)?", v.upper())
        if not m:
            raise SearchError(f"Invalid date {value!r}")
        n, unit = int(m.group(1) or 0), (m.group(2) or "DAY").rstrip("S")
        days = {"DAY": 1, "HOUR": 1 / 24, "MONTH": 30, "YEAR": 365}[unit] * n
        return (datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days)).isoformat()
    if not re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?)?", v):
        raise SearchError(f"Invalid date {value!r}")
    return v


def compile_node(node, expand=_no_expansion):
    """SQL (and args) over search_docs d of a parsed query; expand gives short forms' MATCH text (fts_form)."""
    if node.kind == "and":
        if not node.children:
            return "1=1", []
        parts = [compile_node(c, expand) for c in node.children]
        return "(" + " AND ".join(p for p, _ in parts) + ")", [a for _, args in parts for a in args]
    if node.kind == "or":
        parts = [compile_node(c, expand) for c in node.children]
        return "(" + " OR ".join(p for p, _ in parts) + ")", [a for _, args in parts for a in args]
    if node.kind == "not":
        sql, args = compile_node(node.children[0], expand)
        return f"(NOT {sql})", args
    if node.kind == "range":
        return range_condition(node)
    if node.kind == "field":
        return field_condition(node.field, node.values, expand)
    term = node.values[0]
    if term in ("*", "*:*"):
        return "1=1", []
    return text_condition(term, None, expand)


def plain_terms(node):
    """The bare words of a query that is only words (the common case), else None."""
    if node.kind == "term":
        return [node.values[0]]
    if node.kind == "and" and node.children and all(c.kind == "term" for c in node.children):
        return [c.values[0] for c in node.children]
    return None


def all_terms(node):
    if node.kind == "term":
        return [node.values[0]]
    return [t for c in node.children for t in all_terms(c)] if node.kind in ("and", "or") else []


def trigram_query(terms, expand=_no_expansion):
    """(FTS5 MATCH text requiring every term (any synonym) as a substring, the terms it covers); the text is
    None if no term can be matched in the index (each has a form only a text scan finds)."""
    tri_terms = [t for t in terms if all(fts_form(f, expand) for f in variants(t))]
    if not tri_terms:
        return None, tri_terms
    return " AND ".join("(" + " OR ".join(fts_form(f, expand) for f in variants(t)) + ")" for t in tri_terms), tri_terms


def words_query(terms):
    """FTS5 MATCH text for documents having every term (any synonym) as whole words, or None."""
    groups = []
    for t in terms:
        phrases = sorted({fts_phrase(" ".join(words(f))) for f in variants(t) if words(f)})
        if not phrases:
            return None
        groups.append("(" + " OR ".join(phrases) + ")")
    return " AND ".join(groups)


def score_expr(terms, has_words, has_trigram_bm25):
    """Tiers, then bm25 inside a tier: every term a whole word of the title (8), inside the title (4),
    a whole word anywhere (2), a substring anywhere (0). bm25 alone cannot do this: a term found in
    most documents gets an idf near zero, which would erase the title's weight."""
    part_title, part_args, whole_title, whole_args = [], [], [], []
    for term in terms:
        forms = [f for f in variants(term) if f]
        part_title.append("(" + " OR ".join("instr(d.title_sort, ?) > 0" for _ in forms) + ")")
        part_args += forms
        whole_title.append("(" + " OR ".join("instr(d.title_words, ?) > 0" for _ in forms) + ")")
        whole_args += [" " + " ".join(words(f)) + " " for f in forms]
    bm = []
    if has_words:
        bm.append("2.0 * COALESCE(-w.s, 0.0)")
    if has_trigram_bm25:
        bm.append("COALESCE(-tb.s, 0.0)")
    bm_sql = " + ".join(bm) or "0.0"
    # CAST: a condition is 0 or 1 on SQLite but a boolean, not a number, on PostgreSQL.
    tiers = [f"4.0 * CAST(({' AND '.join(part_title)}) AS INTEGER)", f"4.0 * CAST(({' AND '.join(whole_title)}) AS INTEGER)"]
    if has_words:
        tiers.append("2.0 * CAST((w.rid IS NOT NULL) AS INTEGER)")
    # Solr-like scores are positive; bm25 part squashed into [0, 1) so it never jumps a tier.
    sql = f"({' + '.join(tiers)} + ({bm_sql}) / (1.0 + {bm_sql}))"
    return sql, part_args + whole_args
