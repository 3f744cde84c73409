-- The console's account page (issue 20, authsvc/console_view.go): the
-- login service reads, column by column, what the page shows of an
-- account's lineage (its input rows, their files and departments), its
-- open conflicts and its audit rows; and counts a staff member's
-- unmaskings of the last hour (by the audit's subject, the staff
-- username). It writes none of these.
GRANT SELECT (account_bidx, id, run_id, file_id, row_num) ON account_lineage TO idfusion_authsvc;
GRANT SELECT (id, dept, sha256) ON source_file TO idfusion_authsvc;
GRANT SELECT (run_id, file_id, name, format) ON import_file TO idfusion_authsvc;
GRANT SELECT (code, name) ON department TO idfusion_authsvc;
GRANT SELECT (account_bidx, id, field, candidates, status, created_at) ON merge_conflict TO idfusion_authsvc;
GRANT SELECT (account_bidx, subject) ON auth_audit TO idfusion_authsvc;

-- The unmasking bound counts a staff member's admin_unmask rows of the
-- last hour: without this the count would scan the whole log. (The
-- account's recent rows are read by the primary key (account_bidx, id).)
CREATE INDEX auth_audit_staff_quota ON auth_audit (subject, event, at) WHERE event IN ('admin_unmask', 'admin_lookup');
