"""Uploaded files kept by sha256 under the storage folder, so every number traces to a file."""
import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import StorageFull
from .params import now
from .store.datastore import add_file

CHUNK = 1 << 20
# Letters, digits and the whole Thai block (its vowel and tone marks are not \w), dots and dashes.
_UNSAFE = re.compile(r"[^\w\u0e00-\u0e7f.\-]+", re.UNICODE)


def files_dir(settings):
    """Folder holding content-addressed uploads."""
    return Path(settings.storage_dir) / "files"


def path_for(settings, sha256):
    """Where a file with this sha256 lives."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise ValueError("not a sha256")
    return files_dir(settings) / sha256[:2] / sha256


def munge_filename(name):
    """A safe file name: base name only, no path parts, CKAN-like character set."""
    name = unicodedata.normalize("NFC", os.path.basename(str(name or "").replace("\\", "/")).strip())
    name = _UNSAFE.sub("-", name).strip("-.") or "file"
    return name[:100]


@dataclass
class Staged:
    """A file copied into the storage folder under a temporary name, its sha256 known, not yet kept."""

    tmp: str
    sha256: str
    size: int
    filename: str = None

    def discard(self):
        """Remove the copy if it was never kept."""
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


def stage(settings, fileobj, max_bytes=None):
    """Stream a file into the storage folder under a temporary name, hashing it as it goes; returns a Staged.
    Nothing is recorded: keep() does, in the caller's transaction."""
    target_dir = files_dir(settings)
    target_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    stream = getattr(fileobj, "stream", fileobj)
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".upload-{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ValueError(f"file is larger than {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise StorageFull(f"The upload could not be stored: {exc.strerror or exc}") from None
        raise
    return Staged(tmp, digest.hexdigest(), size, getattr(fileobj, "filename", None) or getattr(fileobj, "name", None))


def keep(settings, db, staged):
    """Move a staged file to its sha256's place and record it; returns (sha256, size)."""
    final = path_for(settings, staged.sha256)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.tmp, final)
    except OSError as exc:
        staged.discard()
        raise StorageFull(f"The upload could not be stored: {exc.strerror or exc}") from None
    add_file(db, staged.sha256, staged.size, now())
    return staged.sha256, staged.size


def store(settings, db, fileobj, max_bytes=None):
    """Stream a file into storage; returns (sha256, size). The write is atomic (rename)."""
    return keep(settings, db, stage(settings, fileobj, max_bytes))


def verify(settings, sha256):
    """True when the stored file still hashes to its name."""
    digest = hashlib.sha256()
    with open(path_for(settings, sha256), "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest() == sha256
