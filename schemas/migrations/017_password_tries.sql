-- Password tries in flight (issue 14). A try used to be counted as a
-- failure when it was claimed, before the slow hash, and cleared only by a
-- success: simultaneous right passwords locked the account, and a try cut
-- by a crash stayed a failure with no audit row. Now a claim only holds a
-- place: wrong passwords counted plus tries in flight stay within
-- MaxFailures (guesses sent together still get no more comparisons than
-- the lock allows), and a failure is counted when the hash says so, in the
-- transaction that audits it. A place held by a process that died is
-- forgotten once password_tries_until has passed.
ALTER TABLE account
    ADD COLUMN password_tries       int NOT NULL DEFAULT 0,
    ADD COLUMN password_tries_until timestamptz;
