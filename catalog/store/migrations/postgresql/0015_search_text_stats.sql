-- PostgreSQL only: the totals FTS5 keeps inside its index (rows, and tokens over all columns) for bm25,
-- kept up to date by every index write (catalog/store/textmatch.py) instead of summed at search time.
CREATE TABLE search_text_stats (name TEXT PRIMARY KEY, docs BIGINT NOT NULL, tokens BIGINT NOT NULL);
INSERT INTO search_text_stats (name, docs, tokens) VALUES ('search_trigram', 0, 0), ('search_words', 0, 0);
