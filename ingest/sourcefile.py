"""Opening a source file: hashes, encoding (UTF-8, UTF-8 with BOM, TIS-620/cp874), compression, header.

A source is read once in Python at C speed (hashing, decoding check, blank-line scan) and handed to
DuckDB as a UTF-8 file; anything that cannot be read raises CannotRead, which the CLI maps to exit 2.
"""
import codecs
import csv
import gzip
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1 << 20
csv.field_size_limit(1 << 30)


class CannotRead(Exception):
    """The file cannot be read at all (missing, undecodable, not the format it claims)."""


class NotUtf8(Exception):
    """The file looked like UTF-8 at its start but is not; read it again as TIS-620."""


@dataclass
class SourceFile:
    """A source file ready for DuckDB: where its UTF-8 bytes are and what we learned reading it."""

    place: str
    path: str
    sha256: str
    md5: str
    bytes: int
    encoding: str
    delimiter: str = ","
    labels: list = field(default_factory=list)
    blank_rows: list = field(default_factory=list)
    temp_files: list = field(default_factory=list)
    repairs: list = field(default_factory=list)
    _scanner: object = None

    def finish_scan(self):
        """Wait for the background hash/blank-line scan (it runs while DuckDB reads the same file)."""
        if self._scanner is None:
            return
        thread, box = self._scanner
        thread.join()
        self._scanner = None
        if "error" in box:
            raise box["error"]
        self.sha256, self.md5, self.bytes, utf8, blank = box["result"]
        if not utf8:
            raise NotUtf8(self.path)
        if blank:
            self.blank_rows = _blank_rows(self.path, self.delimiter)

    def cleanup(self):
        """Remove temporary copies made while reading."""
        for path in self.temp_files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


GZIP_MAX_RATIO = 200          # CSV compresses 5-20×; a bomb of zeros compresses 1000×
GZIP_RATIO_FREE = 50 << 20    # below this many bytes out, any ratio is fine


class _Bounded:
    """A gzip stream that refuses to expand past GZIP_MAX_RATIO × its packed size (a gzip bomb)."""

    def __init__(self, raw, path):
        self.gz, self.path, self.out = gzip.open(raw), path, 0
        self.packed = max(os.path.getsize(path), 1)

    def read(self, n=-1):
        if n is None or n < 0:   # read all, but a piece at a time so the check comes before memory runs out
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        chunk = self.gz.read(n)
        self.out += len(chunk)
        if self.out > GZIP_RATIO_FREE and self.out > self.packed * GZIP_MAX_RATIO:
            raise CannotRead(f"{self.path} expands to more than {self.out:,} bytes ({self.out // self.packed}× its "
                             "size): refused as a gzip bomb")
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.gz.close()


def open_bytes(path):
    """The file's bytes, gunzipped when it is gzip (refusing a gzip bomb)."""
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return _Bounded(raw, path)
    return raw


def _scan(path, check_utf8=True):
    """One pass: hashes, size, UTF-8 validity (unless told DuckDB checks it) and whether any blank line occurs."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    blank = False
    tail = b""
    try:
        with open_bytes(path) as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                sha.update(chunk)
                md5.update(chunk)
                if size == 0 and chunk[:1] in (b"\n", b"\r"):
                    blank = True
                size += len(chunk)
                if utf8 and check_utf8:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
                window = tail + chunk
                if not blank and (b"\n\n" in window or b"\n\r\n" in window):
                    blank = True
                tail = chunk[-2:]
            if utf8 and check_utf8:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    utf8 = False
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CannotRead(f"cannot read {path}: {exc}") from None
    return sha.hexdigest(), md5.hexdigest(), size, utf8, blank


def is_utf8(path):
    """Whether a whole (plain) file is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(path, encoding, workdir):
    """Copy a non-UTF-8 (or compressed) file as plain UTF-8 for DuckDB."""
    fd, out = tempfile.mkstemp(dir=workdir, prefix="src-", suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as dst, open_bytes(path) as src:
            if encoding == "utf-8":
                shutil.copyfileobj(src, dst, CHUNK)
            else:
                reader = codecs.getreader(encoding)(src, errors="strict")
                writer = codecs.getwriter("utf-8")(dst)
                for chunk in iter(lambda: reader.read(CHUNK), ""):
                    writer.write(chunk)
    except UnicodeDecodeError as exc:
        os.unlink(out)
        raise CannotRead(f"{path} is neither UTF-8 nor TIS-620 (cp874): byte {exc.start} cannot be decoded") from None
    return out


def _sniff_delimiter(sample, suffix):
    if suffix in (".tsv", ".tab"):
        return "\t"
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _blank_rows(path, delimiter):
    """Row numbers of blank lines (rare; they shift DuckDB's record count against frictionless's)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        next(reader, None)
        return [n for n, row in enumerate(reader, start=2) if not row]


def _looks_utf8(p):
    with open(p, "rb") as f:
        head = f.read(CHUNK)
    if head[:2] == b"\x1f\x8b":
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        return False
    return True


def open_csv(path, workdir, place=None, force_encoding=None):
    """Open a CSV/TSV (optionally gzipped) for DuckDB: header, delimiter, hashes and blank rows.

    A plain file that starts as UTF-8 is hashed in a background thread while DuckDB reads it
    (call finish_scan() before using hashes or row numbers); anything else is scanned and
    transcoded to UTF-8 first."""
    p = Path(path)
    if not p.is_file():
        raise CannotRead(f"no such file: {path}")
    if force_encoding is None and p.stat().st_size and _looks_utf8(p):
        src = SourceFile(place=place or str(path), path=str(p), sha256="", md5="", bytes=p.stat().st_size,
                         encoding="utf-8")
        box = {}

        def scan():
            try:
                # DuckDB checks every cell's UTF-8 as it reads (engine.read_raw), and _looks_utf8 the header's:
                # decoding the file here too would hold the GIL for seconds beside DuckDB's threads.
                box["result"] = _scan(p, check_utf8=False)
            except Exception as exc:  # reported by finish_scan in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=scan, daemon=True)
        thread.start()
        src._scanner = (thread, box)
        _read_header(src, p)
        return src
    sha, md5, size, utf8, blank = _scan(p)
    if force_encoding:
        utf8 = force_encoding == "utf-8"
    encoding = "utf-8" if utf8 else "cp874"
    with open(p, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    src = SourceFile(place=place or str(path), path=str(p), sha256=sha, md5=md5, bytes=size, encoding=encoding)
    if size == 0:
        return src
    if not utf8 or gz:
        src.path = _transcode(p, encoding, workdir)
        src.temp_files.append(src.path)
    _read_header(src, p)
    if blank:
        src.blank_rows = _blank_rows(src.path, src.delimiter)
    return src


def _read_header(src, p):
    with open(src.path, encoding="utf-8", newline="", errors="replace") as f:
        sample = f.read(65536)
    if sample.startswith("\ufeff"):
        src.encoding = "utf-8-sig" if src.encoding == "utf-8" else src.encoding
        sample = sample[1:]
    src.delimiter = _sniff_delimiter(sample, "".join(p.suffixes[-2:-1] if p.suffix == ".gz" else [p.suffix]).lower())
    with open(src.path, encoding="utf-8-sig", newline="", errors="replace") as f:
        src.labels = next(csv.reader(f, delimiter=src.delimiter), [])


def identify(path):
    """A SourceFile carrying a (non-CSV) file's identity: place, hashes, size and encoding."""
    if not Path(path).is_file():
        raise CannotRead(f"no such file: {path}")
    sha, md5, size, utf8, _ = _scan(path)
    return SourceFile(place=str(path), path=str(path), sha256=sha, md5=md5, bytes=size,
                      encoding="utf-8" if utf8 else "cp874")


def open_converted(csv_path, original):
    """A CSV we wrote from `original` (JSON, XLSX): read for the engine, but reporting the original's
    identity; only blank lines are looked for, the hashes are the original file's."""
    p = Path(csv_path)
    src = SourceFile(place=original.place, path=str(p), sha256=original.sha256, md5=original.md5,
                     bytes=original.bytes, encoding=original.encoding, temp_files=[str(p)])
    _read_header(src, p)
    blank, tail = False, b""
    with open(p, "rb") as f:
        while not blank and (chunk := f.read(CHUNK)):
            blank = b"\n\n" in tail + chunk
            tail = chunk[-1:]
    if blank:
        src.blank_rows = _blank_rows(src.path, src.delimiter)
    return src


def write_rows_csv(rows, workdir, labels):
    """Write Python rows (lists) as a UTF-8 CSV for DuckDB; returns its path."""
    fd, out = tempfile.mkstemp(dir=workdir, prefix="rows-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(labels)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return out


def read_text(path):
    """A small text file (JSON) decoded as UTF-8 or cp874."""
    try:
        with open_bytes(path) as f:
            data = f.read()
    except OSError as exc:
        raise CannotRead(f"cannot read {path}: {exc}") from None
    for enc in ("utf-8-sig", "cp874"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise CannotRead(f"{path} is neither UTF-8 nor TIS-620 (cp874)")
