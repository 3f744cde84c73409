-- A legal person's representative staff chose for a conflict of
-- representatives (工作人员核定, issue 20): it ranks as the enterprise's own
-- in survivorship, so no later import replaces it (as name_pinned, 042).
ALTER TABLE account ADD COLUMN rep_pinned boolean NOT NULL DEFAULT false;
-- An import reads the pin (and never changes it).
GRANT SELECT (rep_pinned) ON account TO idfusion_import;

-- The candidate a conflict's proposal chose, by its index among the
-- conflict's candidates (fixed while the conflict is open): a
-- representative is approved from the candidate's sealed values.
ALTER TABLE staff_proposal ADD COLUMN choice int;

-- A conflict of representatives' department rows, sealed with the keyring
-- (account.ConflictRep), by candidate (a JSON array of strings, "" for a
-- candidate without one): what an approval of that candidate sets. Apart
-- from candidates, whose text identifies the conflict (merge_conflict_
-- candidates), since sealing is randomized.
ALTER TABLE merge_conflict ADD COLUMN reps jsonb;
GRANT SELECT (reps) ON merge_conflict TO idfusion_authsvc;
