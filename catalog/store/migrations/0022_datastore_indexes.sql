-- Declared DataStore indexes (CKAN's datastore_create `indexes`): for each, a copy of the version's rows clustered
-- by the index's fields, so a filter on them reads a few row groups instead of every row. JSON list of
-- {"fields": [...], "parquet_sha256": "..."}; NULL when the table declares none.
ALTER TABLE resource_versions ADD COLUMN indexes TEXT;
