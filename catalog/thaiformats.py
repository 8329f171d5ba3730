"""Thai value parsers (digits, amounts, dates, BE years, tax ids), in Python and as DuckDB macros.

Both forms live here so they can be tested against each other; the SQL form runs on millions of
rows, the Python form on single cells (frictionless checks, forms, tests).
"""
import re
from datetime import date
from decimal import Decimal, InvalidOperation

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
DIGIT_TABLE = str.maketrans(THAI_DIGITS, "0123456789")   # Thai digits ๐–๙ to 0–9, for str.translate
BE_OFFSET = 543
# Abbreviated and full Thai month names; index + 1 is the month number.
MONTHS_ABBR = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
MONTHS_FULL = ["มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม", "สิงหาคม", "กันยายน",
               "ตุลาคม", "พฤศจิกายน", "ธันวาคม"]
MONTHS_EN = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
NULL_MARKS = ("", "-", "–", "—")
_AMOUNT = re.compile(r"^\(?[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?\)?$")
_THAI_DATE = re.compile(r"^(\d{1,2})\s*([^\s\d]+)\s*(\d{2}|\d{4})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_EN_DATE = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4})$")


def ascii_digits(text):
    """Thai digits (๐–๙) replaced by ASCII digits."""
    return text.translate(DIGIT_TABLE) if isinstance(text, str) else text


def parse_amount(text, unit=1):
    """Decimal from "1,234.50", Thai digits or a number; None for blank or "-"; times `unit`."""
    if text is None:
        return None
    if isinstance(text, (int, float, Decimal)) and not isinstance(text, bool):
        return Decimal(str(text)) * unit
    s = ascii_digits(str(text)).strip().replace("บาท", "").strip()
    if s in NULL_MARKS:
        return None
    if not _AMOUNT.match(s):
        raise ValueError(f"not an amount: {text!r}")
    negative = s.startswith("(") and s.endswith(")")
    try:
        value = Decimal(s.strip("()").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    return (-value if negative else value) * unit


def be_year(year):
    """A fiscal/calendar year as BE: 2-digit BE (67 → 2567), CE (2022 → 2565) or BE as is."""
    y = int(ascii_digits(str(year)).strip())
    if y < 100:
        return 2500 + y
    if 1900 <= y <= 2300:
        return y + BE_OFFSET
    if 2400 <= y <= 2800:
        return y
    raise ValueError(f"not a plausible year: {year!r}")


def ce_year(year):
    """A year given as BE or CE, as CE."""
    return be_year(year) - BE_OFFSET


def fiscal_year_be(day):
    """The Thai fiscal year (BE) a date falls in: 1 Oct – 30 Sep, named by the year it ends."""
    return day.year + BE_OFFSET + (1 if day.month >= 10 else 0)


def _month(name):
    name = name.strip()
    for table in (MONTHS_ABBR, MONTHS_FULL):
        if name in table:
            return table.index(name) + 1
    if name.rstrip(".") + "." in MONTHS_ABBR:
        return MONTHS_ABBR.index(name.rstrip(".") + ".") + 1
    return None


def parse_thai_date(text):
    """A date from `29 พ.ย. 67`, `29 พฤศจิกายน 2567`, `20/06/2565`, `24-May-2567` or ISO; None if blank."""
    if text is None:
        return None
    s = ascii_digits(str(text)).strip()
    if s in NULL_MARKS:
        return None
    try:
        if re.match(r"^\d{4}-\d{2}-\d{2}$", s):
            y, m, d = map(int, s.split("-"))
            return date(y - BE_OFFSET if y > 2300 else y, m, d)
        match = _THAI_DATE.match(s)
        if match and _month(match.group(2)):
            return date(ce_year(match.group(3)), _month(match.group(2)), int(match.group(1)))
        match = _SLASH_DATE.match(s)
        if match:
            return date(ce_year(match.group(3)), int(match.group(2)), int(match.group(1)))
        match = _EN_DATE.match(s)
        if match and match.group(2).lower() in MONTHS_EN:
            return date(ce_year(match.group(3)), MONTHS_EN.index(match.group(2).lower()) + 1, int(match.group(1)))
    except ValueError:
        pass
    raise ValueError(f"not a Thai date: {text!r}")


def tin_check_digit(first12):
    """The 13th digit of a Thai tax id from its first 12 digits."""
    total = sum(int(c) * (13 - i) for i, c in enumerate(first12))
    return (11 - total % 11) % 10


def tin_status(text):
    """'valid', 'masked' (digits with trailing x's), 'blank' or 'invalid' for a Thai tax id."""
    if text is None:
        return "blank"
    s = ascii_digits(str(text)).strip().replace("-", "").replace(" ", "")
    if not s:
        return "blank"
    if len(s) == 13 and re.fullmatch(r"\d+[xX]+", s):
        return "masked"
    if len(s) == 13 and s.isdigit() and tin_check_digit(s[:12]) == int(s[12]):
        return "valid"
    return "invalid"


def _sql_list(values):
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def sql_macros():
    """DuckDB macros with the same meaning as the Python parsers above (see tests)."""
    months = _sql_list(MONTHS_ABBR)
    full = _sql_list(MONTHS_FULL)
    en = _sql_list(MONTHS_EN)
    return [
        # translate() only where a Thai digit is: it took 350-410 ms a column of a million Thai names, the test for
        # one 146-235 ms.
        f"CREATE OR REPLACE MACRO khl_digits(s) AS CASE WHEN regexp_matches(s, '[{THAI_DIGITS[0]}-{THAI_DIGITS[-1]}]') "
        f"THEN translate(s, '{THAI_DIGITS}', '0123456789') ELSE s END",
        "CREATE OR REPLACE MACRO khl_nullmark(s) AS "
        "CASE WHEN trim(s) IN ('', '-', '–', '—') THEN NULL ELSE trim(s) END",
        # Amounts: commas, Thai digits, "บาท", brackets for negatives; NULL for blank, NaN-free.
        "CREATE OR REPLACE MACRO khl_amount_text(s) AS "
        "khl_nullmark(trim(replace(khl_digits(s), 'บาท', '')))",
        "CREATE OR REPLACE MACRO khl_amount(s) AS CASE "
        "WHEN regexp_full_match(khl_amount_text(s), '\\(?[+-]?(\\d+|\\d{1,3}(,\\d{3})+)(\\.\\d+)?\\)?') THEN "
        "(CASE WHEN starts_with(khl_amount_text(s), '(') AND ends_with(khl_amount_text(s), ')') THEN -1 ELSE 1 END) * "
        "CAST(replace(trim(khl_amount_text(s), '()'), ',', '') AS DECIMAL(38,4)) END",
        "CREATE OR REPLACE MACRO khl_amount_bad(s) AS khl_amount_text(s) IS NOT NULL AND khl_amount(s) IS NULL",
        "CREATE OR REPLACE MACRO khl_be_year(y) AS CASE WHEN y < 100 THEN 2500 + y WHEN y BETWEEN 1900 AND 2300 "
        "THEN y + 543 WHEN y BETWEEN 2400 AND 2800 THEN y END",
        "CREATE OR REPLACE MACRO khl_ce_year(y) AS khl_be_year(y) - 543",
        f"CREATE OR REPLACE MACRO khl_month(m) AS coalesce(NULLIF(list_position({months}, m), 0), "
        f"NULLIF(list_position({full}, m), 0), NULLIF(list_position({months}, rtrim(m, '.') || '.'), 0))",
        # One regex pass per form, captured into a struct, each bound once through a one-element list.
        "CREATE OR REPLACE MACRO khl_date_parts(s) AS CASE "
        "WHEN regexp_full_match(s, '\\d{4}-\\d{2}-\\d{2}') THEN [CAST(s[1:4] AS INT), CAST(s[6:7] AS INT), CAST(s[9:10] AS INT)] "
        "ELSE coalesce("
        "list_transform([regexp_extract(s, '^(\\d{1,2})\\s*([^\\s\\d]+)\\s*(\\d{2}|\\d{4})$', ['d', 'm', 'y'])], "
        "lambda t: CASE WHEN t.d <> '' AND khl_month(t.m) IS NOT NULL "
        "THEN [khl_ce_year(CAST(t.y AS INT)), khl_month(t.m), CAST(t.d AS INT)] END)[1], "
        "list_transform([regexp_extract(s, '^(\\d{1,2})[/-](\\d{1,2})[/-](\\d{4})$', ['d', 'm', 'y'])], "
        "lambda t: CASE WHEN t.d <> '' THEN [khl_ce_year(CAST(t.y AS INT)), CAST(t.m AS INT), CAST(t.d AS INT)] END)[1], "
        "list_transform([regexp_extract(s, '^(\\d{1,2})-([A-Za-z]{3})-(\\d{4})$', ['d', 'm', 'y'])], "
        f"lambda t: CASE WHEN t.d <> '' AND list_position({en}, lower(t.m)) > 0 THEN "
        f"[khl_ce_year(CAST(t.y AS INT)), list_position({en}, lower(t.m)), CAST(t.d AS INT)] END)[1]) END",
        # Macros expand inline, so each argument is bound once through a one-element list_transform;
        # nesting them directly repeats the regex work many times per cell.
        "CREATE OR REPLACE MACRO khl_date_from(p) AS list_transform([p], lambda q: CASE WHEN q[1] > 2300 "
        "THEN try(make_date(q[1] - 543, q[2], q[3])) ELSE try(make_date(q[1], q[2], q[3])) END)[1]",
        "CREATE OR REPLACE MACRO khl_thai_date(s) AS "
        "list_transform([khl_nullmark(khl_digits(s))], lambda x: khl_date_from(khl_date_parts(x)))[1]",
        "CREATE OR REPLACE MACRO khl_thai_date_bad(s) AS khl_nullmark(khl_digits(s)) IS NOT NULL AND khl_thai_date(s) IS NULL",
        # Tax ids: 13 digits with the mod-11 check digit, or digits followed by x's (masked).
        "CREATE OR REPLACE MACRO khl_tin_clean(s) AS replace(replace(trim(khl_digits(s)), '-', ''), ' ', '')",
        # The weighted digit sum is unrolled: a lambda over range(12) costs ten times more per row.
        "CREATE OR REPLACE MACRO khl_tin_status(s) AS list_transform([khl_tin_clean(s)], lambda x: CASE "
        "WHEN s IS NULL OR x = '' THEN 'blank' "
        "WHEN length(x) = 13 AND regexp_full_match(x, '\\d+[xX]+') THEN 'masked' "
        "WHEN regexp_full_match(x, '\\d{13}') AND "
        "(11 - (CAST(x[1] AS INT) * 13 + CAST(x[2] AS INT) * 12 + CAST(x[3] AS INT) * 11 + CAST(x[4] AS INT) * 10 + CAST(x[5] AS INT) * 9 + CAST(x[6] AS INT) * 8 + CAST(x[7] AS INT) * 7 + CAST(x[8] AS INT) * 6 + CAST(x[9] AS INT) * 5 + CAST(x[10] AS INT) * 4 + CAST(x[11] AS INT) * 3 + CAST(x[12] AS INT) * 2) % 11) % 10 = CAST(x[13] AS INT) THEN 'valid' ELSE 'invalid' END)[1]",
    ]


def install_macros(cur):
    """Define the khl_* macros on a DuckDB cursor."""
    for statement in sql_macros():
        cur.execute(statement)
