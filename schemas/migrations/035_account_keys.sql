-- Scale-out (docs/scale-out.md §3.2), the last of the keys: once no foreign
-- key points at account (id) or agent_authorization (id) any more (032-034
-- moved them to the blind index or dropped them), their unique keys take the
-- distribution column too.
--
-- The account: its blind index is unique and the foreign keys of its group
-- point at it (account_id_bidx_key); the id, from the sequence the import
-- and the login service share, keeps an index for the lookups by id, no
-- longer a unique one, and the blind index identifies a row to logical
-- replication.
CREATE INDEX account_id ON account (id);
ALTER TABLE account DROP CONSTRAINT account_pkey;
ALTER TABLE account REPLICA IDENTITY USING INDEX account_id_bidx_key;

-- An agent's authorization is keyed within its legal person's account, and
-- found by its id alone through a plain index.
CREATE INDEX agent_authorization_id ON agent_authorization (id);
ALTER TABLE agent_authorization DROP CONSTRAINT agent_authorization_pkey,
    ADD PRIMARY KEY (legal_account_bidx, id);
