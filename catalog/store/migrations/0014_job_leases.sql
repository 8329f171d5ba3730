-- A running job's lease: its worker renews it while it runs; past it, any node may call the job failed
-- (a worker on another machine that died cannot be found by its process id).
ALTER TABLE jobs ADD COLUMN lease_until TEXT;
ALTER TABLE harvest_jobs ADD COLUMN lease_until TEXT;
