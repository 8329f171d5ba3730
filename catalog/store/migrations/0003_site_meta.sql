-- Site-wide facts a process must agree on (for example: this catalogue holds the synthetic demo).
CREATE TABLE site_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
