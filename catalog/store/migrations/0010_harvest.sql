-- Harvest sources (agency CKAN or DCAT catalogues), their runs, and what each run brought in.
CREATE TABLE harvest_sources (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('ckan', 'dcat')),
  org TEXT,                       -- put every dataset under this local organization (else map the remote ones)
  fq TEXT,                        -- a filter query sent to a CKAN source
  every_seconds INTEGER,          -- run on this schedule inside `khlang serve` (NULL: by hand only)
  detached INTEGER NOT NULL DEFAULT 0,  -- 1: its datasets are local now and editable
  state TEXT NOT NULL DEFAULT 'active',
  created TEXT NOT NULL,
  last_modified_seen TEXT         -- the newest remote metadata_modified harvested (the next run asks from here)
);
CREATE TABLE harvest_jobs (
  id TEXT PRIMARY KEY,
  source_id TEXT NOT NULL REFERENCES harvest_sources(id),
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'complete', 'error')),
  created TEXT NOT NULL,
  started TEXT,
  finished TEXT,
  worker TEXT,
  stats TEXT,                     -- JSON counts: created, updated, unchanged, withdrawn, skipped
  log TEXT,                       -- JSON list of {remote, reason} lines
  error TEXT
);
CREATE INDEX harvest_jobs_source ON harvest_jobs (source_id, created);
-- Two runs of one source never overlap: at most one pending-or-running job per source.
CREATE UNIQUE INDEX harvest_jobs_one_active ON harvest_jobs (source_id) WHERE state IN ('pending', 'running');
CREATE TABLE harvest_objects (
  source_id TEXT NOT NULL REFERENCES harvest_sources(id),
  remote_id TEXT NOT NULL,        -- the remote dataset's id (CKAN) or URI (DCAT)
  remote_name TEXT,
  package_id TEXT NOT NULL,
  remote_url TEXT,
  remote_modified TEXT,
  content_hash TEXT NOT NULL,     -- of the mapped dataset: an unchanged record is not rewritten
  PRIMARY KEY (source_id, remote_id)
);
CREATE INDEX harvest_objects_package ON harvest_objects (package_id);
