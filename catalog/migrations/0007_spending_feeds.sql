-- Resources whose DataStore table feeds the spending explorer (declared by the ingest source format).
CREATE TABLE spending_feeds (
  resource_id TEXT PRIMARY KEY REFERENCES resources(id),
  feed TEXT NOT NULL,
  source TEXT NOT NULL,
  added TEXT NOT NULL
);
