-- PostgreSQL only: the forgiving text is searched by LIKE over trigram GIN indexes, as search_trigram.
CREATE INDEX search_loose_all ON search_loose USING gin (alltext gin_trgm_ops);
CREATE INDEX search_loose_title ON search_loose USING gin (title gin_trgm_ops);
CREATE INDEX search_loose_body ON search_loose USING gin (body gin_trgm_ops);
CREATE INDEX search_loose_roman_title ON search_loose USING gin (roman_title gin_trgm_ops);
CREATE INDEX search_loose_roman_body ON search_loose USING gin (roman_body gin_trgm_ops);
