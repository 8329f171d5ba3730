-- Tag vocabularies (CKAN's controlled tag lists) and the vocabulary tags datasets carry beside their free tags.
CREATE TABLE vocabularies (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE vocabulary_tags (
  vocabulary_id TEXT NOT NULL REFERENCES vocabularies(id),
  name TEXT NOT NULL,
  PRIMARY KEY (vocabulary_id, name)
);
CREATE TABLE package_vocabulary_tags (
  package_id TEXT NOT NULL REFERENCES packages(id),
  vocabulary_id TEXT NOT NULL REFERENCES vocabularies(id),
  name TEXT NOT NULL,
  PRIMARY KEY (package_id, vocabulary_id, name)
);
CREATE INDEX package_vocabulary_tags_tag ON package_vocabulary_tags (vocabulary_id, name);
