-- The trigram and forgiving text of the entries not everyone may see (drafts, deleted and private datasets),
-- a second time: a search counts its hits in the whole index, then among these few the ones its viewer may not
-- see, instead of looking every hit up in search_docs (a third of a large search's time).
CREATE VIRTUAL TABLE search_restricted_trigram USING fts5(title, tags, org, res, notes, tokenize='trigram', detail='full');
CREATE VIRTUAL TABLE search_restricted_loose USING fts5(title, body, roman_title, roman_body, tokenize='trigram', detail='full');
INSERT INTO search_restricted_trigram (rowid, title, tags, org, res, notes)
  SELECT rowid, title, tags, org, res, notes FROM search_trigram
  WHERE rowid IN (SELECT doc_id FROM search_docs WHERE state <> 'active' OR private = 1);
INSERT INTO search_restricted_loose (rowid, title, body, roman_title, roman_body)
  SELECT rowid, title, body, roman_title, roman_body FROM search_loose
  WHERE rowid IN (SELECT doc_id FROM search_docs WHERE state <> 'active' OR private = 1);
