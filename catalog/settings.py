"""Settings from the environment (KHLANG_*), overridable per app or test."""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(//)?")


def database_problem(value):
    """Why `value` cannot name the catalogue database (a SQLite file path, or sqlite:///path), or None.

    Anything that looks like a URL of another scheme is refused before a file or folder is created from it."""
    text = str(value or "").strip()
    if not text:
        return "is empty; give the path of the catalogue's SQLite file"
    m = _URL.match(text)
    if m and not (len(m.group(1)) == 1 and not m.group(2)):   # a Windows drive letter (C:) is a path
        scheme = m.group(1).lower()
        if scheme == "sqlite":
            return None if text.startswith("sqlite:///") and len(text) > len("sqlite:///") else \
                "a SQLite URL is sqlite:///path/to/khlang.db"
        if scheme in ("postgresql", "postgres"):
            return _postgresql_problem(text)
        return (f"{scheme}:// is not a database Khlang can use; give the path of a SQLite file or a "
                "postgresql://user:password@host:port/dbname URL (nothing was created)")
    return None


def _postgresql_problem(url):
    from urllib.parse import urlsplit   # only PostgreSQL settings need it; the CLI's start stays light
    try:
        parts = urlsplit(url)
        parts.port   # noqa: B018  (raises on a port that is not a number)
    except ValueError as e:
        return f"not a PostgreSQL URL ({e}); write postgresql://user:password@host:port/dbname"
    if not parts.hostname and "host=" not in parts.query:
        return "the PostgreSQL URL names no host; write postgresql://user:password@host:port/dbname"
    if not parts.path.strip("/"):
        return "the PostgreSQL URL names no database; write postgresql://user:password@host:port/dbname"
    return None


def is_postgresql(value):
    """True when a KHLANG_DB value names a PostgreSQL database rather than a SQLite file."""
    return str(value).strip().lower().startswith(("postgresql://", "postgres://"))


def database_label(value):
    """A KHLANG_DB value fit for messages and logs: a PostgreSQL URL without its password."""
    text = str(value).strip()
    if not is_postgresql(text):
        return text
    from urllib.parse import urlsplit   # only PostgreSQL settings need it

    parts = urlsplit(text)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{parts.hostname or 'localhost'}{port}{parts.path}"


def database_path(value):
    """The SQLite file path (a plain path, or sqlite:///path) or PostgreSQL URL of a valid KHLANG_DB value."""
    text = str(value).strip()
    return text[len("sqlite://"):] if text.startswith("sqlite:///") else text


class SettingError(ValueError):
    """A setting that cannot be used; its message names the setting (e.g. "KHLANG_DB: ...")."""


def _flag(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Settings:
    """Everything a Khlang process needs to know about its site and files."""

    db_path: str = "data/khlang.db"
    storage_dir: str = ""
    site_url: str = ""
    site_title: str = "Khlang คลังข้อมูลเปิด"
    site_description: str = "Thai open-data catalogue and budget explorer"
    gdc_strict: bool = False
    max_upload_mb: int = 1024
    locale_default: str = "th"
    search_cache_size: int = 512
    search_replica: bool = True   # on PostgreSQL: search a node-local copy of the index (catalog/store/searchreplica.py)
    search_copy_dir: str = ""   # a local folder where that copy is kept for the node's next process; unset: removed
    provinces_geojson: str = ""
    sql_timeout_s: float = 10.0
    sql_memory_mb: int = 2048
    datastore_gram_rows: int = 100_000   # a DataStore `q` on a table this large reads postings (datastore/grams.py)
    trusted_proxies: int = 0   # reverse proxies in front that set X-Forwarded-For/-Proto
    db_pool_size: int = 10   # PostgreSQL connections a node's requests share (at least its threads)
    registration: bool = True   # anyone may make an account (verified by e-mail); off: sysadmins make them
    smtp_url: str = ""   # smtp://, smtp+starttls:// or smtps://user:password@host:port; unset: mails go to the log
    mail_from: str = "Khlang <noreply@localhost>"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.db_path != ":memory:":
            problem = database_problem(self.db_path)
            if problem:
                raise SettingError(f"KHLANG_DB: {problem}")
            self.db_path = database_path(self.db_path)
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtp+starttls://", "smtps://")):
            raise SettingError("KHLANG_SMTP_URL: give smtp://, smtp+starttls:// or smtps://user:password@host:port")
        if not self.storage_dir:
            # Beside the SQLite file; a PostgreSQL catalogue has no folder of its own (several nodes share
            # one KHLANG_STORAGE, docs/deploy.md).
            base = Path("data") if is_postgresql(self.db_path) else Path(self.db_path).resolve().parent
            self.storage_dir = str(base.resolve() / "storage")

    @classmethod
    def from_env(cls, **overrides):
        """Build settings from KHLANG_* variables, then explicit overrides (None means unset)."""
        env = os.environ
        values = {
            "db_path": env.get("KHLANG_DB", "data/khlang.db"),
            "storage_dir": env.get("KHLANG_STORAGE", ""),
            "site_url": env.get("KHLANG_SITE_URL", ""),
            "site_title": env.get("KHLANG_SITE_TITLE", cls.site_title),
            "gdc_strict": _flag(env.get("KHLANG_GDC_STRICT", "0")),
            "max_upload_mb": int(env.get("KHLANG_MAX_UPLOAD_MB", "1024")),
            "search_cache_size": int(env.get("KHLANG_SEARCH_CACHE", "512")),
            "search_replica": _flag(env.get("KHLANG_SEARCH_REPLICA", "1")),
            "search_copy_dir": env.get("KHLANG_SEARCH_COPY_DIR", ""),
            "provinces_geojson": env.get("KHLANG_PROVINCES_GEOJSON", ""),
            "sql_timeout_s": float(env.get("KHLANG_SQL_TIMEOUT", "10")),
            "sql_memory_mb": int(env.get("KHLANG_SQL_MEMORY_MB", "2048")),
            "datastore_gram_rows": int(env.get("KHLANG_DATASTORE_GRAM_ROWS", "100000")),
            "trusted_proxies": int(env.get("KHLANG_TRUSTED_PROXIES", "0")),
            "db_pool_size": int(env.get("KHLANG_DB_POOL", "10")),
            "registration": _flag(env.get("KHLANG_REGISTRATION", "1")),
            "smtp_url": env.get("KHLANG_SMTP_URL", ""),
            "mail_from": env.get("KHLANG_MAIL_FROM", cls.mail_from),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
