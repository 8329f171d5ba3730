-- A counter bumped by every index write, so search processes can cache results until it moves.
CREATE TABLE search_generation (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL);
INSERT INTO search_generation (id, generation) VALUES (1, 0);
