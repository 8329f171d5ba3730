-- Resources whose DataStore table feeds the spending explorer (declared by the ingest source format).
-- A catalogue from before spending had its own migrations already holds this table without the cascade (a purged
-- resource takes its feed row with it): the table is rebuilt either way.
CREATE TABLE IF NOT EXISTS spending_feeds (
  resource_id TEXT PRIMARY KEY,
  feed TEXT NOT NULL,
  source TEXT NOT NULL,
  added TEXT NOT NULL
);
CREATE TABLE spending_feeds_new (
  resource_id TEXT PRIMARY KEY REFERENCES resources(id) ON DELETE CASCADE,
  feed TEXT NOT NULL,
  source TEXT NOT NULL,
  added TEXT NOT NULL
);
INSERT INTO spending_feeds_new (resource_id, feed, source, added) SELECT resource_id, feed, source, added FROM spending_feeds;
DROP TABLE spending_feeds;
ALTER TABLE spending_feeds_new RENAME TO spending_feeds;
