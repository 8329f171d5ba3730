"""The DataStore: tables as immutable Parquet versions read by DuckDB, CKAN's datastore_* actions over them,
their downloads, indexes and user SQL."""
