-- The password gets a failure counter and a lock of its own, escalating
-- (issue 10): a lock stops password logins only, and each lock in a row
-- lasts twice the one before, up to a cap (authsvc Config.LockFor,
-- Config.PasswordLockMax), so the guesses compared a day stay few. SMS
-- codes and faces keep failed_attempts and locked_until (005), now theirs
-- alone: a password lock no longer stops the owner's other factors.
ALTER TABLE account
    -- Wrong passwords since the last lock or successful password login.
    ADD COLUMN password_failures     int NOT NULL DEFAULT 0,
    -- Password locks in a row (no successful password login between):
    -- the next lock lasts LockFor doubled this many times.
    ADD COLUMN password_locks        int NOT NULL DEFAULT 0,
    ADD COLUMN password_locked_until timestamptz;

-- Until now one counter held every factor's failures, and a lock stopped
-- every method. Whatever of it may have been password guesses carries
-- over to the password: the count, a lock in force, and a lock since the
-- last login (locked_until is cleared only by a login) as the first level.
-- The SMS and face columns keep their values: a lock in force stays in
-- force for every method until it ends.
UPDATE account SET
    password_failures     = failed_attempts,
    password_locks        = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE 0 END,
    password_locked_until = locked_until
    WHERE failed_attempts <> 0 OR locked_until IS NOT NULL;
