"""Failure counters per client address: too many failed logins or unknown tokens answer 429 for a while."""
import threading
import time
from collections import defaultdict, deque


class FailureLimit:
    """At most `limit` failures per key within `window` seconds (in this process)."""

    def __init__(self, limit, window):
        self.limit, self.window = limit, window
        self._hits = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, q, now):
        while q and q[0] <= now - self.window:
            q.popleft()

    def blocked(self, key):
        """True while the key has used up its failures."""
        with self._lock:
            q = self._hits.get(key)
            if not q:
                return False
            self._trim(q, time.monotonic())
            return len(q) >= self.limit

    def fail(self, key):
        """Count one failure."""
        with self._lock:
            q = self._hits[key]
            self._trim(q, time.monotonic())
            q.append(time.monotonic())
            if len(self._hits) > 100_000:   # bound memory under a spray of addresses
                self._hits.clear()


def init_app(app):
    """Give the app its own counters (one per app, so two apps in a process never share them)."""
    app.extensions["khlang_limits"] = {"login": FailureLimit(limit=10, window=300),
                                       "tokens": FailureLimit(limit=30, window=300)}


def limit(kind):
    """This app's counter for `login` or `tokens` failures."""
    from flask import current_app

    return current_app.extensions["khlang_limits"][kind]
