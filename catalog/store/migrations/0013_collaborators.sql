-- Dataset collaborators (CKAN 2.9+): users outside the organization who may read (member) or also edit (editor)
-- one dataset.
CREATE TABLE package_collaborators (
  package_id TEXT NOT NULL REFERENCES packages(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  capacity TEXT NOT NULL CHECK (capacity IN ('member', 'editor')),
  modified TEXT NOT NULL,
  PRIMARY KEY (package_id, user_id)
);
CREATE INDEX package_collaborators_user ON package_collaborators (user_id);
