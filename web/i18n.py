"""Language of a request (Thai by default; `?lang=en` or the `lang` cookie), Flask-Babel, and the
Thai-aware formatting filters: Buddhist-Era dates in Thai, CE in English, baht amounts."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import g, request
from flask_babel import Babel

from catalog import licenses

LANGS = ("th", "en")
COOKIE = "lang"
MONTHS = {"th": ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."],
          "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]}


def get_locale():
    """`?lang=` first, then the cookie, then Thai."""
    if "lang" not in g:
        asked = request.args.get("lang")
        g.lang = asked if asked in LANGS else (request.cookies.get(COOKIE) if request.cookies.get(COOKIE) in LANGS
                                                else "th")
    return g.lang


def remember_language(response):
    """Keep an explicit `?lang=` choice in a cookie so every later page follows it."""
    asked = request.args.get("lang")
    if asked in LANGS and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax")
    return response


BANGKOK = ZoneInfo("Asia/Bangkok")
ZONE_NOTE = {"th": "เวลาประเทศไทย", "en": "Bangkok time"}


def _as_date(value):
    """A date, or a datetime in Bangkok time: timestamps are stored in UTC, naive (CKAN's format)."""
    if isinstance(value, datetime):
        d = value
    elif isinstance(value, date):
        return value
    else:
        text = str(value or "")
        try:
            if len(text) <= 10:
                return date.fromisoformat(text)
            d = datetime.fromisoformat(text[:26])
        except ValueError:
            return None
    return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).astimezone(BANGKOK)


def format_date(value, lang=None, with_time=False):
    """`1 ธ.ค. 2569` in Thai (Buddhist Era), `1 Dec 2026` in English."""
    d = _as_date(value)
    if d is None:
        return value or ""
    lang = lang or get_locale()
    year = d.year + 543 if lang == "th" else d.year
    text = f"{d.day} {MONTHS[lang][d.month - 1]} {year}"
    if with_time and isinstance(d, datetime):
        text += f" {d:%H:%M} ({ZONE_NOTE[lang]})"
    return text


def format_year(be_year, lang=None):
    """A fiscal year stored in BE, shown in BE (Thai) or CE (English)."""
    try:
        be = int(be_year)
    except (TypeError, ValueError):
        return be_year or ""
    return str(be) if (lang or get_locale()) == "th" else str(be - 543)


def format_baht(value, lang=None):
    """Baht with ล้านบาท / million baht where that reads better."""
    if value in (None, ""):
        return ""
    lang = lang or get_locale()
    x = float(value)
    if abs(x) >= 1_000_000:
        return f"{x / 1_000_000:,.2f} " + ("ล้านบาท" if lang == "th" else "million baht")
    return f"{x:,.0f} " + ("บาท" if lang == "th" else "baht")


def format_number(value):
    """Thousands separators."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value if value is not None else ""


def licence_title(license_id, fallback=None):
    """A licence's name in the page's language (Thai names on Thai pages; the API keeps CKAN's titles)."""
    return licenses.title_in(license_id, get_locale(), fallback)


def init_app(app):
    """Install Flask-Babel (catalogs in web/translations) and the formatting filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "th")
    Babel(app, locale_selector=get_locale)
    app.after_request(remember_language)
    app.jinja_env.filters.update(be_date=format_date, fyear=format_year, baht=format_baht, number=format_number,
                                 licence_title=licence_title)
    app.jinja_env.globals.update(get_locale=get_locale)
