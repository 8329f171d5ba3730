-- A user's sessions are valid while they carry the user's current epoch: logging out everywhere or
-- changing the password raises it, and every older session cookie stops working at once.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
