"""Spending explorer: budget lines, disbursement and procurement built from catalogue datasets."""
from . import store  # noqa: F401  (registers spending's migrations with the catalogue store)
