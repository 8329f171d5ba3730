-- Page views and downloads, counted per object and day.
CREATE TABLE usage_counts (
  object_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  day TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (object_id, kind, day)
);
CREATE INDEX usage_counts_kind_day ON usage_counts (kind, day);
-- Requests for data from anyone, answered by an organization (open -> answered -> published).
CREATE TABLE datarequests (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  organization_id TEXT REFERENCES groups(id),
  user_id TEXT REFERENCES users(id),
  requester_name TEXT NOT NULL,
  requester_email TEXT,
  status TEXT NOT NULL DEFAULT 'open',
  answer TEXT,
  answered_by TEXT REFERENCES users(id),
  package_id TEXT REFERENCES packages(id),
  created TEXT NOT NULL,
  modified TEXT NOT NULL
);
CREATE INDEX datarequests_status ON datarequests (status, created);
-- Comments on datasets; anonymous ones wait for the organization's moderation.
CREATE TABLE comments (
  id TEXT PRIMARY KEY,
  package_id TEXT NOT NULL REFERENCES packages(id),
  user_id TEXT REFERENCES users(id),
  author_name TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  created TEXT NOT NULL,
  moderated_by TEXT REFERENCES users(id)
);
CREATE INDEX comments_package ON comments (package_id, created);
