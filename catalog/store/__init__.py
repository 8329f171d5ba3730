"""The catalogue store: every SQL statement over the catalogue's tables lives in this package.

Each module covers one family of tables with plain functions that take a connection and return rows
(sqlite3.Row, read like dicts) or plain values; callers hold the transaction (`db.transaction`).
"""
