"""Readers for the real source formats: each turns a file into a CSV the engine validates, and
says how the validated table becomes the table Khlang loads (repairs, parsed Thai values).

| source          | file                                   | what the reader does                                   |
|-----------------|----------------------------------------|--------------------------------------------------------|
| kaogeek-budget  | pdf2csv v2 CSV (.csv/.csv.gz)          | names the unnamed index column ROW; FY CE → BE; flags   |
|                 |                                        | multi-year obligation rows outside the bill year       |
| bbgfproject     | govspending API rows, JSON lines (.gz) | flattens to CSV, `compare` kept as JSON (province split)|
| mof-ministry    | MOF GovernmentExpenditureEconomyMinistry JSON | one row per ministry × year × phase, million baht |
| egp-csv         | data.go.th e-GP bulk CSV, Thai headers | restores the two district columns missing from some    |
|                 |                                        | headers, accepts files cut after จังหวัด, swaps the     |
|                 |                                        | method columns back, parses Thai dates/digits, '-'=null |
| csv / xlsx / json | plain tables                         | XLSX first sheet and JSON records become CSV            |
"""
import json
import zipfile
from pathlib import Path

from . import sourcefile
from .sourcefile import CannotRead

EGP_LABELS = ["ลำดับ", "รหัสโครงการ", "ชื่อโครงการ", "ชื่อประเภทโครงการ", "ชื่อหน่วยงาน", "ชื่อหน่วยงานย่อย", "วิธีจัดซื้อฯ",
              "กลุ่มวิธีจัดซื้อฯ", "วันที่ประกาศ", "งบประมาณ(บาท)", "ราคากลาง(บาท)", "ราคาตกลงซื้อ/จ้าง", "ปีงบประมาณ",
              "วันที่เกิดรายการ", "จังหวัด", "เขต/อำเภอ", "แขวง/ตำบล", "สถานะโครงการ", "พิกัดของโครงการ", "ละติจูดโครงการ",
              "ลองจิจูดโครงการ", "เลขนิติบุคคล", "ชื่อผู้ชนะ", "เลขที่สัญญา", "วันที่ลงนามสัญญา", "วันที่สิ้นสุดสัญญา",
              "งบสัญญา(บาท)", "สถานะสัญญา"]
# English names of the normalised e-GP table (govspending API vocabulary), in EGP_LABELS order.
EGP_NAMES = ["row_no", "project_id", "project_name", "project_type", "dept_name", "dept_sub_name", "method_group",
             "method", "announce_date", "project_money", "price_build", "sum_price_agree", "budget_year",
             "transaction_date", "province", "district", "subdistrict", "project_status", "geom", "lat", "lon",
             "winner_tin", "winner", "contract_no", "contract_date", "contract_finish_date", "price_agree",
             "contract_status"]
EGP_DATES = {"announce_date", "transaction_date", "contract_date", "contract_finish_date"}
XLSX_MAX_UNCOMPRESSED = 1 << 31
XLSX_MAX_RATIO = 200


class Reader:
    """A plain CSV/TSV: read as is, loaded with the schema's own field names."""

    name = "csv"

    def open(self, path, workdir, cur):
        """A SourceFile (UTF-8 CSV) for the engine."""
        return sourcefile.open_csv(path, workdir)

    def adapt_schema(self, descriptor, src, cur):
        """The schema descriptor this file is checked against (some sources carry a subset of columns)."""
        return descriptor

    def normalize(self, columns):
        """(select list, fields) of the loaded table from the validated typed columns {name: sql}."""
        return None


class KaogeekReader(Reader):
    name = "kaogeek"

    def open(self, path, workdir, cur):
        src = sourcefile.open_csv(path, workdir)
        if src.labels and src.labels[0] == "":
            src.labels[0] = "ROW"
        return src

    def normalize(self, columns):
        sel = [(f'"{k}"', k) for k in columns if k != "ROW"]
        bill_year = "TRY_CAST(split_part(\"REF_DOC\", '.', 1) AS INTEGER)"
        sel += [("\"FISCAL_YEAR\" + 543", "FISCAL_YEAR_BE"),
                (f"{bill_year} + 543", "BILL_YEAR_BE"),
                # A multi-year obligation row counts only in its own year, never in the bill year's total.
                (f"(\"FISCAL_YEAR\" = {bill_year})", "IN_BILL_YEAR")]
        return sel, [("FISCAL_YEAR_BE", "int", "ปีงบประมาณ (พ.ศ.)"), ("BILL_YEAR_BE", "int", "ปีของ พ.ร.บ. งบประมาณ"),
                     ("IN_BILL_YEAR", "bool", "นับในปีงบประมาณของ พ.ร.บ.")]


class BbgfprojectReader(Reader):
    name = "bbgfproject"
    FIELDS = ["bb_code", "bb_year", "amount", "min_code", "min", "agc_code", "agc", "name", "plan_name", "stg_name",
              "objc_level1_name", "compare", "gf_amount_sum"]

    def open(self, path, workdir, cur):
        cols = "{" + ", ".join(f"'{f}': '{'JSON' if f == 'compare' else 'VARCHAR'}'" for f in self.FIELDS) + "}"
        return _json_as_csv(path, workdir, cur, f"format='newline_delimited', columns={cols}", "bbgfproject JSON lines")


class MofReader(Reader):
    name = "mof"

    def open(self, path, workdir, cur):
        src = sourcefile.identify(path)
        try:
            doc = json.loads(sourcefile.read_text(path))
            groups = doc["TransGovernment"]["MinistryGroup"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CannotRead(f"{path} is not the MOF ministry JSON (TransGovernment.MinistryGroup): {exc}") from None
        rows = []
        for g in groups:
            for item in g.get("MinistryGroupDetail") or []:
                d = item.get("MinistryDetail") or {}
                date_key = str(d.get("DataDate", ""))
                year, phase = (date_key[:-6], "appropriated") if date_key.endswith("budget") else (date_key, "disbursed")
                rows.append([g.get("MinistryName"), year, phase, d.get("Value")])
        out = sourcefile.write_rows_csv(rows, workdir, ["ministry", "fiscal_year", "phase", "amount_million_baht"])
        return sourcefile.open_converted(out, src)

    def normalize(self, columns):
        sel = [(f'"{k}"', k) for k in columns]
        sel.append(('"amount_million_baht" * 1000000', "amount_baht"))
        return sel, [("amount_baht", "numeric", "จำนวนเงิน (บาท)")]


class EgpReader(Reader):
    name = "egp"

    def open(self, path, workdir, cur):
        src = sourcefile.open_csv(path, workdir)
        labels = [x.strip() for x in src.labels]
        if labels and labels[:len(EGP_LABELS)] != EGP_LABELS[:len(labels)]:
            without_district = [x for x in EGP_LABELS if x not in ("เขต/อำเภอ", "แขวง/ตำบล")]
            if labels == without_district[:len(labels)] and len(labels) > 15:
                # The bulk header lacks the district columns but the rows carry them: name them back.
                src.labels = EGP_LABELS[:len(labels) + 2]
                src.repairs = ["restored the header's missing เขต/อำเภอ and แขวง/ตำบล columns"]
        return src

    def adapt_schema(self, descriptor, src, cur):
        present = len(src.labels)
        if 15 <= present < len(descriptor["fields"]) and src.labels == EGP_LABELS[:present]:
            # Files cut after a column (e.g. the official 250-row sample ends at จังหวัด) are checked on what they have.
            return {**descriptor, "fields": descriptor["fields"][:present]}
        return descriptor

    def normalize(self, columns):
        sel = []
        method, group = '"กลุ่มวิธีจัดซื้อฯ"', '"วิธีจัดซื้อฯ"'
        for label, name in zip(EGP_LABELS, EGP_NAMES):
            if label not in columns:
                kind = ("DECIMAL(38,9)" if name in ("project_money", "price_build", "sum_price_agree", "price_agree")
                        else "DATE" if name in EGP_DATES else "VARCHAR")
                sel.append((f"CAST(NULL AS {kind})", name))
                continue
            expr = f'"{label}"'
            if name == "method" and group in (f'"{c}"' for c in columns):
                # The bulk files swap the two method columns: the specific method is the one that is not the
                # generic "วิธีการจัดหา ..." group label.
                expr = f"CASE WHEN starts_with({group}, 'วิธีการจัดหา') THEN {method} ELSE {group} END"
            elif name == "method_group" and method in (f'"{c}"' for c in columns):
                expr = f"CASE WHEN starts_with({group}, 'วิธีการจัดหา') THEN {group} ELSE {method} END"
            elif name in EGP_DATES:
                expr = f"khl_thai_date({expr})"
            elif name in ("project_name", "dept_name", "dept_sub_name", "winner", "contract_no"):
                expr = f"khl_digits({expr})"
            elif name == "winner_tin":
                expr = f"khl_tin_clean({expr})"
            sel.append((expr, name))
        return sel, [(n, "date" if n in EGP_DATES else None, None) for n in EGP_NAMES]


class XlsxReader(Reader):
    name = "xlsx"

    def open(self, path, workdir, cur):
        src = sourcefile.identify(path)
        _check_zip(path)
        from openpyxl import load_workbook  # a third of a second to import; only .xlsx files need it

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise CannotRead(f"{path} is not a readable XLSX workbook: {exc}") from None
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [("" if v is None else str(v)) for v in next(rows, [])]

        def cells():
            for row in rows:
                values = ["" if v is None else _xlsx_text(v) for v in row]
                while values and values[-1] == "" and len(values) > len(header):
                    values.pop()
                yield values

        out = sourcefile.write_rows_csv(cells(), workdir, header)
        wb.close()
        return sourcefile.open_converted(out, src)


class JsonReader(Reader):
    name = "json"

    def open(self, path, workdir, cur):
        with sourcefile.open_bytes(path) as f:
            head = f.read(4096).decode("utf-8", "replace")
        if '"FeatureCollection"' in head:
            raise CannotRead(f"{path} is GeoJSON (a FeatureCollection), not a table: publish it as a file resource")
        return _json_as_csv(path, workdir, cur, "format='auto', maximum_object_size=67108864",
                            "a JSON array of records or JSON lines")


def _json_as_csv(path, workdir, cur, options, what):
    """JSON read by DuckDB (options are ours, never a user's) and written as the CSV the engine checks."""
    src = sourcefile.identify(path)
    out = Path(workdir) / f"json-{src.sha256[:16]}.csv"
    try:
        cur.execute(f"COPY (SELECT * FROM read_json(?, {options})) TO '{out}' (HEADER, DELIMITER ',')", [str(path)])
    except Exception as exc:
        raise CannotRead(f"{path} is not {what}: {str(exc).splitlines()[0]}") from None
    return sourcefile.open_converted(out, src)


def _xlsx_text(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()[:10] if getattr(v, "hour", 0) == 0 and getattr(v, "minute", 0) == 0 else v.isoformat()
    return str(v)


def _check_zip(path):
    """Refuse zip bombs before openpyxl inflates anything."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise CannotRead(f"{path} is not an XLSX file (not a zip archive)") from None
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > XLSX_MAX_UNCOMPRESSED or (total > (50 << 20) and total / packed > XLSX_MAX_RATIO):
        raise CannotRead(f"{path} expands to {total:,} bytes ({total / packed:.0f}× its size): refused as a zip bomb")


READERS = {cls.name: cls for cls in (Reader, KaogeekReader, BbgfprojectReader, MofReader, EgpReader, XlsxReader,
                                     JsonReader)}


def for_source(decl):
    """The reader instance a source format declaration names."""
    return READERS[decl.get("reader", "csv")]()


def guess(path):
    """The reader for a file with no --source, by its extension."""
    name = str(path).lower()
    if name.endswith((".xlsx", ".xlsm")):
        return XlsxReader()
    if name.endswith((".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".geojson")):
        return JsonReader()
    return Reader()
