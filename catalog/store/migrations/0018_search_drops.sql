-- Index entries removed, in order (written on PostgreSQL only): each node's own copy of the search index
-- (catalog/store/searchreplica.py) drops them as it catches up. Entries are only ever added with a larger
-- doc_id, so new doc_ids and this log are all a copy needs to follow the catalogue.
CREATE TABLE search_drops (seq INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL);
