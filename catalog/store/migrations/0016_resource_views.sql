-- Resource views (CKAN's resource_view_*): how a resource is shown on its page, in the order of `position`.
-- `config` holds the view type's own settings (image_url, page_url, chart fields) as JSON.
CREATE TABLE resource_views (
  id TEXT PRIMARY KEY,
  resource_id TEXT NOT NULL REFERENCES resources(id),
  view_type TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  config TEXT NOT NULL DEFAULT '{}',
  position INTEGER NOT NULL
);
CREATE INDEX resource_views_resource ON resource_views (resource_id, position);
