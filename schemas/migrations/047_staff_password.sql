-- A 客服 whose credentials another staff member was shown (made or reset
-- in the console or by the CLI) changes the password at the first sign-in
-- before anything else: whoever printed them then no longer knows it.
-- Members with 审核, 运维 or 审计 have their credentials from the owner
-- only (044), so the service never changes them and never sets this.
ALTER TABLE staff ADD COLUMN must_change boolean NOT NULL DEFAULT false;
GRANT INSERT (must_change), UPDATE (must_change) ON staff TO idfusion_authsvc;
-- Every 客服 so far has a password someone else was shown (none could
-- change their own): they change it at their next sign-in.
UPDATE staff SET must_change = true WHERE roles <@ ARRAY['kefu'];
