-- PostgreSQL only: bm25's token totals count the trigram each padded column now has (textmatch.token_count).
UPDATE search_text_stats SET tokens = tokens + (SELECT COALESCE(sum(
  (char_length(title) = 3 AND right(title, 1) = ' ')::int + (char_length(tags) = 3 AND right(tags, 1) = ' ')::int
  + (char_length(org) = 3 AND right(org, 1) = ' ')::int + (char_length(res) = 3 AND right(res, 1) = ' ')::int
  + (char_length(notes) = 3 AND right(notes, 1) = ' ')::int), 0) FROM search_trigram) WHERE name = 'search_trigram';
