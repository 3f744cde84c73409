-- Ended staff sessions go with the purge (authsvc.Purge, the scheduler's
-- purge_auth job, run as idfusion_import) like the citizens': a revoked
-- session has its expires_at brought back to the revocation, so the one
-- range of this index is every session that ended.
CREATE INDEX staff_session_expires ON staff_session (expires_at);
GRANT DELETE ON staff_session TO idfusion_import;
GRANT SELECT (expires_at) ON staff_session TO idfusion_import;
