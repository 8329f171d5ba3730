-- PostgreSQL only: the restricted entries' text is searched by LIKE over trigram GIN indexes, as its twins.
CREATE INDEX search_restricted_trigram_all ON search_restricted_trigram USING gin (alltext gin_trgm_ops);
CREATE INDEX search_restricted_loose_all ON search_restricted_loose USING gin (alltext gin_trgm_ops);
CREATE INDEX search_restricted_loose_title ON search_restricted_loose USING gin (title gin_trgm_ops);
CREATE INDEX search_restricted_loose_body ON search_restricted_loose USING gin (body gin_trgm_ops);
CREATE INDEX search_restricted_loose_roman_title ON search_restricted_loose USING gin (roman_title gin_trgm_ops);
CREATE INDEX search_restricted_loose_roman_body ON search_restricted_loose USING gin (roman_body gin_trgm_ops);
