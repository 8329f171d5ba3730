-- The forgiving tiers of search (catalog/forgiving.py), beside the exact index.
-- Folded text (no tone marks, spaces or punctuation) and RTGS romanisation with English place and
-- organization names, all without spaces: `ซือ` finds ซื้อ, `chiang rai` and `chiangrai` find เชียงราย.
CREATE VIRTUAL TABLE search_loose USING fts5(title, body, roman_title, roman_body, tokenize='trigram', detail='full');
-- The index's words (of titles, tags and organizations) with how many datasets use them, and each word's
-- one-letter deletions: a typed word is looked up by its own deletions to find the words one edit away.
CREATE TABLE search_vocab (word TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE search_vocab_edits (variant TEXT NOT NULL, word TEXT NOT NULL, PRIMARY KEY (variant, word));
-- Which vocabulary words a dataset's entry counted, so removing the entry uncounts them (kept out of
-- search_docs, whose rows every search reads).
CREATE TABLE search_doc_vocab (doc_id INTEGER PRIMARY KEY REFERENCES search_docs(doc_id), words TEXT NOT NULL);
