"""Failure counters: too many failed logins or unknown tokens answer 429 (with Retry-After) for a while.

Keys are the client's address (behind KHLANG_TRUSTED_PROXIES proxies, the forwarded one; IPv6 by its /64,
which one subscriber holds whole) and, for logins, the account tried, so neither a spray of addresses at one
account nor one address at many accounts gets far. The oldest keys are evicted first when memory fills.
"""
import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque

from flask import current_app

MAX_KEYS = 100_000


class FailureLimit:
    """At most `limit` failures per key within `window` seconds (in this process)."""

    def __init__(self, limit, window, max_keys=MAX_KEYS):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._hits = OrderedDict()
        self._lock = threading.Lock()

    def _trim(self, q, now):
        while q and q[0] <= now - self.window:
            q.popleft()

    def retry_after(self, key):
        """Seconds until the key may try again (0 when it is not blocked)."""
        with self._lock:
            q = self._hits.get(key)
            if not q:
                return 0
            now = time.monotonic()
            self._trim(q, now)
            if len(q) < self.limit:
                return 0
            return max(1, math.ceil(q[len(q) - self.limit] + self.window - now))

    def blocked(self, key):
        """True while the key has used up its failures."""
        return self.retry_after(key) > 0

    def fail(self, key):
        """Count one failure."""
        with self._lock:
            now = time.monotonic()
            q = self._hits.get(key)
            if q is None:
                q = self._hits[key] = deque()
            else:
                self._hits.move_to_end(key)
            self._trim(q, now)
            q.append(now)
            while len(self._hits) > self.max_keys:   # bound memory under a spray of keys: least recent first
                self._hits.popitem(last=False)


def client_key(address):
    """The address a limit counts against: IPv4 as is, IPv6 by its /64 network."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return address or "?"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def init_app(app):
    """Give the app its own counters (one per app, so two apps in a process never share them)."""
    app.extensions["khlang_limits"] = {"login": FailureLimit(limit=10, window=300),
                                       "account": FailureLimit(limit=10, window=300),
                                       "tokens": FailureLimit(limit=30, window=300),
                                       # registrations and reset requests: each one sends a mail
                                       "mail": FailureLimit(limit=20, window=3600)}


def limit(kind):
    """This app's counter for `login` (per address), `account` (per login name) or `tokens` failures."""
    return current_app.extensions["khlang_limits"][kind]
