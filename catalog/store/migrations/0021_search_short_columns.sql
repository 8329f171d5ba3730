-- A 2-letter FTS column gets a space after it, so the trigram index holds one trigram of it: a 2-letter search
-- word is then found through the index's trigrams instead of a scan of every entry's text (shortterms.py).
UPDATE search_trigram SET title = title || ' ' WHERE length(title) = 2;
UPDATE search_trigram SET tags = tags || ' ' WHERE length(tags) = 2;
UPDATE search_trigram SET org = org || ' ' WHERE length(org) = 2;
UPDATE search_trigram SET res = res || ' ' WHERE length(res) = 2;
UPDATE search_trigram SET notes = notes || ' ' WHERE length(notes) = 2;
UPDATE search_restricted_trigram SET title = title || ' ' WHERE length(title) = 2;
UPDATE search_restricted_trigram SET tags = tags || ' ' WHERE length(tags) = 2;
UPDATE search_restricted_trigram SET org = org || ' ' WHERE length(org) = 2;
UPDATE search_restricted_trigram SET res = res || ' ' WHERE length(res) = 2;
UPDATE search_restricted_trigram SET notes = notes || ' ' WHERE length(notes) = 2;
