-- Scale-out (docs/scale-out.md §3): the import's own tables name their
-- account by its blind index, the key the account group is distributed by,
-- so that on Citus a lineage row and a conflict sit on their account's
-- shard and the import's joins stay on one shard. (On a store of many rows
-- this rewrites lineage, its largest table, in one transaction under an
-- exclusive lock: plan the downtime, and the disk for a second copy of the
-- table while it runs.)
--
-- Lineage: account_bidx replaces account_id (one key, not two that could
-- disagree). The primary key (account_bidx, id) still grows at its right
-- edge during an import: new accounts come in blind index order, their
-- lineage rows account by account.
ALTER TABLE account_lineage ADD COLUMN account_bidx bytea;
UPDATE account_lineage l SET account_bidx = a.id_bidx FROM account a WHERE a.id = l.account_id;
-- Lineage has no foreign key (004): a row whose account is gone would
-- only fail SET NOT NULL below, without saying why.
DO $$
DECLARE orphans bigint := (SELECT count(*) FROM account_lineage WHERE account_bidx IS NULL);
BEGIN
    IF orphans > 0 THEN
        RAISE EXCEPTION '% lineage rows name an account that does not exist (SELECT * FROM account_lineage WHERE account_id NOT IN (SELECT id FROM account)); repair them, then migrate again', orphans;
    END IF;
END $$;
ALTER TABLE account_lineage ALTER COLUMN account_bidx SET NOT NULL;
ALTER TABLE account_lineage DROP CONSTRAINT account_lineage_pkey;
ALTER TABLE account_lineage DROP COLUMN account_id;
ALTER TABLE account_lineage ADD PRIMARY KEY (account_bidx, id);

-- Conflicts keep account_id (the review lists it) next to the key; their
-- keys include the key.
ALTER TABLE merge_conflict ADD COLUMN account_bidx bytea;
UPDATE merge_conflict c SET account_bidx = a.id_bidx FROM account a WHERE a.id = c.account_id;
DO $$
DECLARE orphans bigint := (SELECT count(*) FROM merge_conflict WHERE account_bidx IS NULL);
BEGIN
    IF orphans > 0 THEN
        RAISE EXCEPTION '% conflicts name an account that does not exist; repair them, then migrate again', orphans;
    END IF;
END $$;
ALTER TABLE merge_conflict ALTER COLUMN account_bidx SET NOT NULL;
ALTER TABLE merge_conflict DROP CONSTRAINT merge_conflict_pkey, ADD PRIMARY KEY (account_bidx, id);
DROP INDEX merge_conflict_candidates;
CREATE UNIQUE INDEX merge_conflict_candidates ON merge_conflict (account_bidx, field, md5(candidates::text));
