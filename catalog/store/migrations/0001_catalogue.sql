-- Catalogue core. Portable SQL (TEXT ids, ISO timestamps, 0/1 flags) except the search index.
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  fullname TEXT,
  email TEXT,
  about TEXT,
  password_hash TEXT,
  sysadmin INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'active',
  created TEXT NOT NULL
);

CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created TEXT NOT NULL,
  last_access TEXT
);

-- Organizations and groups share one table, as in CKAN (is_organization tells them apart).
CREATE TABLE groups (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  image_url TEXT NOT NULL DEFAULT '',
  type TEXT NOT NULL,
  is_organization INTEGER NOT NULL,
  approval_status TEXT NOT NULL DEFAULT 'approved',
  state TEXT NOT NULL DEFAULT 'active',
  extras TEXT NOT NULL DEFAULT '[]',
  created TEXT NOT NULL
);

CREATE TABLE memberships (
  group_id TEXT NOT NULL REFERENCES groups(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  capacity TEXT NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE packages (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  type TEXT NOT NULL DEFAULT 'dataset',
  owner_org TEXT REFERENCES groups(id),
  private INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'active',
  notes TEXT,
  url TEXT,
  version TEXT,
  author TEXT,
  author_email TEXT,
  maintainer TEXT,
  maintainer_email TEXT,
  license_id TEXT,
  creator_user_id TEXT,
  metadata_created TEXT NOT NULL,
  metadata_modified TEXT NOT NULL,
  extras TEXT NOT NULL DEFAULT '[]',
  fields TEXT NOT NULL DEFAULT '{}',
  quality_score INTEGER NOT NULL DEFAULT 0
);
-- Names are unique among datasets that are not deleted (CKAN's package_name_validator).
CREATE UNIQUE INDEX packages_live_name ON packages(name) WHERE state <> 'deleted';
CREATE INDEX packages_name ON packages(name);
CREATE INDEX packages_org ON packages(owner_org);
CREATE INDEX packages_modified ON packages(metadata_modified);

CREATE TABLE package_tags (
  package_id TEXT NOT NULL REFERENCES packages(id),
  name TEXT NOT NULL,
  PRIMARY KEY (package_id, name)
);
CREATE INDEX package_tags_name ON package_tags(name);

CREATE TABLE package_groups (
  package_id TEXT NOT NULL REFERENCES packages(id),
  group_id TEXT NOT NULL REFERENCES groups(id),
  PRIMARY KEY (package_id, group_id)
);
CREATE INDEX package_groups_group ON package_groups(group_id);

CREATE TABLE resources (
  id TEXT PRIMARY KEY,
  package_id TEXT NOT NULL REFERENCES packages(id),
  position INTEGER NOT NULL,
  name TEXT,
  description TEXT,
  format TEXT,
  url TEXT NOT NULL DEFAULT '',
  url_type TEXT,
  hash TEXT,
  mimetype TEXT,
  size INTEGER,
  sha256 TEXT,
  created TEXT NOT NULL,
  last_modified TEXT,
  metadata_modified TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'active',
  datastore_active INTEGER NOT NULL DEFAULT 0,
  extras TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX resources_package ON resources(package_id, position);

CREATE TABLE activity (
  id TEXT PRIMARY KEY,
  timestamp TEXT NOT NULL,
  user_id TEXT,
  object_id TEXT NOT NULL,
  activity_type TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX activity_object ON activity(object_id, timestamp);

-- Search: one row per indexed dataset with the columns filters and sorts need.
CREATE TABLE search_docs (
  doc_id INTEGER PRIMARY KEY,
  package_id TEXT NOT NULL UNIQUE REFERENCES packages(id),
  name TEXT NOT NULL,
  title_sort TEXT NOT NULL,
  title_words TEXT NOT NULL DEFAULT '',
  owner_org TEXT,
  private INTEGER NOT NULL,
  state TEXT NOT NULL,
  type TEXT NOT NULL,
  creator_user_id TEXT,
  metadata_created TEXT NOT NULL,
  metadata_modified TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX search_docs_modified ON search_docs(metadata_modified);
CREATE INDEX search_docs_created ON search_docs(metadata_created);
CREATE INDEX search_docs_name ON search_docs(name);
CREATE INDEX search_docs_title ON search_docs(title_sort);

-- Exact-value fields for fq and facets (organization, tags, groups, res_format, GDC choices...).
CREATE TABLE search_terms (
  doc_id INTEGER NOT NULL REFERENCES search_docs(doc_id),
  field TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX search_terms_fv ON search_terms(field, value, doc_id);
CREATE INDEX search_terms_doc ON search_terms(doc_id, field, value);

-- Substring recall (trigram) and whole-word ranking (pythainlp tokens, space separated; the
-- ascii tokenizer keeps every non-ASCII code point inside a token, so Thai marks survive).
CREATE VIRTUAL TABLE search_trigram USING fts5(title, tags, org, res, notes, tokenize='trigram', detail='full');
CREATE VIRTUAL TABLE search_words USING fts5(title, tags, org, res, notes, tokenize='ascii');

CREATE TABLE files (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  created TEXT NOT NULL
);
