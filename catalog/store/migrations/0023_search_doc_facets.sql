-- Each entry's values of the fields the site's search page counts (searchindex.FACETED), as the ids of
-- search_facet_values in one row: a search's facets over its hits read one short row per hit and count small
-- numbers, instead of looking up one index range per hit and field (q=โรงเรียน at 100,000 datasets, 10,000
-- hits, the page's six facets: 194 ms before).
CREATE TABLE search_facet_values (id INTEGER PRIMARY KEY, field TEXT NOT NULL, value TEXT NOT NULL, UNIQUE (field, value));
CREATE TABLE search_doc_facets (doc_id INTEGER PRIMARY KEY REFERENCES search_docs(doc_id), packed TEXT NOT NULL);
INSERT INTO search_facet_values (field, value)
  SELECT DISTINCT field, value FROM search_terms
  WHERE field IN ('organization', 'groups', 'tags', 'res_format', 'license_id', 'data_category');
INSERT INTO search_doc_facets (doc_id, packed)
  SELECT t.doc_id, group_concat(CAST(v.id AS TEXT), ' ')
  FROM search_terms t JOIN search_facet_values v ON v.field = t.field AND v.value = t.value
  GROUP BY t.doc_id;
