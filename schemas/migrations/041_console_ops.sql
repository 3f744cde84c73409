-- The console's operations views (issue 20, 运维): the import runs and
-- their files as internal/report reads them, and the business systems'
-- registration, secret rotation and disabling by a staff member.

-- A disabled client is refused at the authorization and token endpoints
-- (as unknown); its live tokens are revoked when it is disabled. The row
-- stays: the audit and the tokens refer to its id.
ALTER TABLE oidc_client ADD COLUMN disabled_at timestamptz;

-- The console registers clients and rotates or disables them (each with
-- its staff audit row in the same transaction); it never deletes one.
GRANT INSERT ON oidc_client TO idfusion_authsvc;
GRANT UPDATE (secret_hash, disabled_at) ON oidc_client TO idfusion_authsvc;

-- The runs and their files as report.Runs and report.RunByID read them:
-- the counts only, never a rejected row's values or a lineage's account.
GRANT SELECT (id, started_at, finished_at, trigger, forced, ledger) ON import_run TO idfusion_authsvc;
GRANT SELECT (run_id, file_id, dept, sha256, name, format, encoding, rows_read, rows_accepted, rows_rejected, warnings)
    ON import_file TO idfusion_authsvc;
GRANT SELECT (file_id) ON account_lineage TO idfusion_authsvc;
GRANT SELECT (run_id, file_id) ON import_reject TO idfusion_authsvc;

-- The departments, each with its last successful run (the schedule's
-- departments as the database knows them).
GRANT SELECT (code, name) ON department TO idfusion_authsvc;
