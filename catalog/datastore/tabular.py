"""Writing table rows for people: CSV/TSV safe for Excel (BOM, neutralised formulas), JSON, XML, XLSX."""
import csv
import io
import json
from xml.sax.saxutils import escape, quoteattr

from ..params import xml_safe

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MEDIA = {"csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
         "json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def neutralise(value):
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise(value) if isinstance(value, str) else value


def delimited_text(rows, delimiter=","):
    """Rows as CSV/TSV text without a header (datastore_search records_format csv/tsv)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    for r in rows:
        w.writerow([_cell(v) for v in r])
    return buf.getvalue()


JSON_CLOSING = b"]}"
XML_OPENING = b'<data xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
XML_CLOSING = b"</data>\n"


def xml_tag(name):
    """A column name as an XML element name: other characters become _, and it never starts with a digit or -."""
    tag = "".join(c if c.isalnum() or c in "_-" else "_" for c in name) or "field"
    return "f_" + tag if tag[0].isdigit() or tag[0] == "-" else tag


def opening(fmt, header, bom=False):
    """The bytes a CSV/TSV/JSON download starts with: the header line (with Excel's byte-order mark when `bom`),
    or the JSON object up to its first record (XML starts with XML_OPENING)."""
    if fmt == "json":
        return ('{"fields": ' + json.dumps([{"id": h} for h in header], ensure_ascii=False) + ', "records": [').encode()
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\r\n")
    w.writerow([_cell(h) for h in header])   # a column name can be a formula too
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def stream(fmt, header, batches, bom=False):
    """Yield the bytes of a download in `fmt` from batches of row lists (bounded memory)."""
    if fmt in ("csv", "tsv"):
        yield opening(fmt, header, bom)
        for rows in batches:
            buf = io.StringIO()
            w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\r\n")
            for r in rows:
                w.writerow([_cell(v) for v in r])
            yield buf.getvalue().encode("utf-8")
    elif fmt == "json":
        yield opening(fmt, header)
        first = True
        for rows in batches:
            for r in rows:
                yield (("" if first else ",") + json.dumps(r, ensure_ascii=False, default=str)).encode("utf-8")
                first = False
        yield JSON_CLOSING
    elif fmt == "xml":
        yield XML_OPENING
        tags = [xml_tag(h) for h in header[1:]]
        for rows in batches:
            out = []
            for r in rows:
                cells = []
                for tag, v in zip(tags, r[1:]):
                    if v is None:
                        cells.append(f'<{tag} xsi:nil="true"/>')
                    else:
                        text = json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
                        cells.append(f"<{tag}>{escape(xml_safe(text))}</{tag}>")
                out.append(f"<row _id={quoteattr(str(r[0]))}>{''.join(cells)}</row>\n")
            yield "".join(out).encode("utf-8")
        yield XML_CLOSING
    elif fmt == "xlsx":
        yield _xlsx(header, batches)
    else:
        raise ValueError(fmt)


def _xlsx(header, batches):
    # openpyxl takes a third of a second to import; only .xlsx downloads need it.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")

    def text(value):
        # In XLSX a cell typed as a string is never run, so the text is kept exactly, with no apostrophe;
        # characters XML cannot carry are dropped (openpyxl refuses them mid-stream).
        cell = WriteOnlyCell(ws, value=xml_safe(value))
        cell.data_type = "s"
        return cell

    def cell(v):
        if isinstance(v, str):
            return text(v)
        if isinstance(v, (bool, dict, list)):
            return text(_cell(v))
        return v   # numbers, dates and None keep their spreadsheet types

    ws.append([text(str(h)) for h in header])
    for rows in batches:
        for r in rows:
            ws.append([cell(v) for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
