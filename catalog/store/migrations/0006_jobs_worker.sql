-- Which process (host:pid) runs a job, so a job whose process died can be marked failed and retried.
ALTER TABLE jobs ADD COLUMN worker TEXT;
