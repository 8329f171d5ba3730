"""The `khlang` command line, the one entry above catalog, spending, ingest and web."""
