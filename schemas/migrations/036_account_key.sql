-- Scale-out (docs/scale-out.md §3.2): an account's id is no longer unique in
-- account (035: its unique keys are its blind index's), yet sessions, tokens
-- and the import find accounts by id. Like a username, an id is unique
-- nationally through a lookup table of its own, distributed by the id and
-- written in the transaction that writes the account: a second account with
-- an id already taken (a reservation gone wrong, a sequence restored behind
-- the data) fails its transaction.
CREATE TABLE account_key (
    id      bigint PRIMARY KEY,
    id_bidx bytea  NOT NULL
);
INSERT INTO account_key (id, id_bidx) SELECT id, id_bidx FROM account;
GRANT SELECT, INSERT ON account_key TO idfusion_import, idfusion_authsvc;
