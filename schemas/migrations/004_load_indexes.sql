-- Indexes an import can fill at their right edge.
--
-- Every B-tree entry written at a random place costs an import far more
-- than one appended at the end (measured on 961k lineage rows: +2.5 s for
-- the random account_id index against +0.9 s for the sequential primary
-- key). An import writes new accounts in id (= blind index) order and their
-- lineage rows account by account, so:

-- Lineage is keyed by its account: the rows of one account sit together, a
-- value's source is found as (account, lineage id), and an import appends
-- to one index instead of three. Rows of a file are found through a BRIN
-- index: an import writes all its rows in one contiguous block.
-- (file_id, row_num) is unique by construction; every run checks it in its
-- ledger (lineage rows of a file = its accepted rows).
ALTER TABLE account_lineage DROP CONSTRAINT account_lineage_pkey;
ALTER TABLE account_lineage DROP CONSTRAINT account_lineage_file_id_row_num_key;
DROP INDEX account_lineage_account;
ALTER TABLE account_lineage ADD PRIMARY KEY (account_id, id);
CREATE INDEX account_lineage_file ON account_lineage USING brin (file_id, run_id);

-- A phone identifies a citizen (login, recovery) only once the citizen has
-- verified it by SMS: department phones need no lookup, and an import of
-- fused accounts writes nothing into this index.
DROP INDEX account_phone_bidx;
CREATE INDEX account_phone_bidx ON account (phone_bidx) WHERE phone_verified;

-- Conflicts and rejects are written by the thousand per run: like lineage,
-- they carry no FOREIGN KEY (a trigger per row cost more than the insert)
-- and each run checks them set-based before it commits.
ALTER TABLE merge_conflict DROP CONSTRAINT merge_conflict_account_id_fkey;
ALTER TABLE merge_conflict DROP CONSTRAINT merge_conflict_run_id_fkey;
ALTER TABLE import_reject DROP CONSTRAINT import_reject_file_id_fkey;
