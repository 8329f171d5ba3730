-- DataStore: every load writes an immutable Parquet file (content-addressed) and a version row;
-- the live version is a pointer flipped in the same transaction, so a failed load changes nothing.
CREATE TABLE resource_versions (
  id TEXT PRIMARY KEY,
  resource_id TEXT NOT NULL REFERENCES resources(id),
  version INTEGER NOT NULL,
  parquet_sha256 TEXT NOT NULL,
  source_sha256 TEXT,
  row_count INTEGER NOT NULL,
  fields TEXT NOT NULL,
  primary_key TEXT NOT NULL DEFAULT '[]',
  report TEXT,
  note TEXT,
  loaded_at TEXT NOT NULL,
  loaded_by TEXT,
  UNIQUE (resource_id, version)
);

CREATE TABLE datastore_tables (
  resource_id TEXT PRIMARY KEY REFERENCES resources(id),
  current_version_id TEXT REFERENCES resource_versions(id),
  aliases TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE datastore_aliases (
  alias TEXT PRIMARY KEY,
  resource_id TEXT NOT NULL REFERENCES resources(id)
);

-- Background loads (resource uploads), CKAN xloader-style: status and report readable by API.
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  resource_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  created TEXT NOT NULL,
  started TEXT,
  finished TEXT,
  error TEXT,
  report TEXT,
  source_sha256 TEXT,
  user_id TEXT
);
CREATE INDEX jobs_resource ON jobs(resource_id, created);
