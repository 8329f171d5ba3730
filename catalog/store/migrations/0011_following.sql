-- Users following datasets, groups (and organizations) and other users: the dashboard shows their activity.
CREATE TABLE following (
  follower_id TEXT NOT NULL REFERENCES users(id),
  object_id TEXT NOT NULL,
  object_type TEXT NOT NULL CHECK (object_type IN ('dataset', 'group', 'user')),
  created TEXT NOT NULL,
  PRIMARY KEY (follower_id, object_id)
);
CREATE INDEX following_object ON following (object_id);
