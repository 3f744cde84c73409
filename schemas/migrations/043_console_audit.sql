-- The staff console's audit search and export for 审计, and its staff
-- management for 运维 (issue 20).
--
-- 审计 reads the whole audit log from the console (the search, the CSV
-- export, the chain check): the service reads every column of auth_audit
-- and the head of its chain (read-only: the head still moves only by the
-- chaining trigger, as the owner).
GRANT SELECT (id, at, event, outcome, account_id, subject, ip, detail, prev_hash, hash, account_bidx) ON auth_audit TO idfusion_authsvc;
GRANT SELECT ON auth_audit_head TO idfusion_authsvc;
-- The searches walk newest first by id: by the staff member (the subject
-- of a staff row) and by the event. The search by account takes the key
-- (account_bidx, id); a time range alone takes auth_audit_id.
CREATE INDEX auth_audit_subject ON auth_audit (subject, id);
CREATE INDEX auth_audit_event ON auth_audit (event, id);

-- 运维 manages the staff from the console after the first administrator
-- (made by the CLI, as the owner): adds them, sets their roles, disables
-- and enables them, resets their credentials. Nobody deletes a staff
-- member (their audit rows name them).
GRANT INSERT (username, name, password_hash, totp_sealed, roles, created_at, created_by) ON staff TO idfusion_authsvc;
GRANT UPDATE (roles, status, password_hash, totp_sealed) ON staff TO idfusion_authsvc;
