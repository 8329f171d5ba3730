"""Spending explorer: budget lines, disbursement and procurement built from catalogue datasets."""
