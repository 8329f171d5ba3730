-- Restricted documents (not active, or private) are few; a partial index lists just them, so counts
-- and facets can subtract or add them instead of checking every visible document.
CREATE INDEX search_docs_hidden ON search_docs(doc_id) WHERE state <> 'active' OR private = 1;

-- Facet counts over public, active datasets, kept exact by the indexer (+1/-1 per write).
CREATE TABLE search_facet_counts (
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (field, value)
);
INSERT INTO search_facet_counts (field, value, n)
  SELECT st.field, st.value, count(*) FROM search_terms st JOIN search_docs d ON d.doc_id = st.doc_id
  WHERE d.state = 'active' AND d.private = 0 GROUP BY st.field, st.value;
