-- Fused accounts have no username until the citizen completes them, yet
-- 018's unique index held an entry for each of their NULLs: an import wrote
-- one B-tree entry (and its WAL) per new account for nothing (3.6 MB per
-- 577k accounts). NULLs never conflict in a unique index, so leaving them
-- out changes no answer; a lookup by lower(username) = lower($1) implies
-- username IS NOT NULL (lower is strict), so the planner still uses it. The
-- name stays: registration recognises a taken username by it.
DROP INDEX account_username_lower;
CREATE UNIQUE INDEX account_username_lower ON account (lower(username)) WHERE username IS NOT NULL;
