-- 运维's view of the open merge conflicts in the console (what `fusion
-- conflicts` prints, masked): the conflict's account and run.
GRANT SELECT (account_id, run_id) ON merge_conflict TO idfusion_authsvc;
