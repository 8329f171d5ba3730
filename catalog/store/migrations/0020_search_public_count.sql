-- How many public, active entries the index holds, kept by every index write as the facet counts are: a search
-- with no query counts its datasets from here instead of counting the whole index.
ALTER TABLE search_generation ADD COLUMN public_docs INTEGER NOT NULL DEFAULT 0;
UPDATE search_generation SET public_docs = (SELECT count(*) FROM search_docs WHERE state = 'active' AND private = 0);
