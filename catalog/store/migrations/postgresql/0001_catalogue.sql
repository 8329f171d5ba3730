-- PostgreSQL only, after 0001_catalogue.sql (translated by catalog/store/pg.py): what SQLite has built in.
-- pg_trgm is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- SQLite's instr(), used by the search ranking and short queries.
CREATE FUNCTION instr(text, text) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT strpos($1, $2)';
-- SQLite's implicit rowid: the activity log's insertion order, the tie-break of equal timestamps.
ALTER TABLE activity ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
-- Substring recall (the trigram FTS5 table on SQLite): LIKE '%...%' over trigram GIN indexes. Thai letters,
-- vowels and tone marks are word characters under the database's C.UTF-8 character class (docs/deploy.md).
CREATE INDEX search_trigram_all ON search_trigram USING gin (alltext gin_trgm_ops);
CREATE INDEX search_trigram_title ON search_trigram USING gin (title gin_trgm_ops);
CREATE INDEX search_words_all ON search_words USING gin (alltext gin_trgm_ops);
CREATE INDEX search_words_title ON search_words USING gin ((' ' || title || ' ') gin_trgm_ops);
CREATE INDEX search_docs_text ON search_docs USING gin (text gin_trgm_ops);
