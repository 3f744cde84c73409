-- Four eyes (issue 20): what a 客服 (kefu) proposes for an account takes
-- effect only when a different staff member with 审核 (shenhe) approves
-- it. Two kinds: a phone change after the holder's mailed documents, and
-- the surviving value of a merge conflict.
CREATE TABLE staff_proposal (
    account_bidx    bytea       NOT NULL,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    account_id      bigint      NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('phone', 'conflict')),
    -- A phone change: the new phone sealed with the keyring (AAD "phone",
    -- as account.phone_sealed), its blind index and its masked hint.
    phone_sealed    bytea,
    phone_bidx      bytea,
    phone_hint      text,
    -- A conflict's resolution: the conflict, its field and the value chosen.
    conflict_id     bigint,
    field           text,
    value           text,
    -- The reference of the documents checked (the phone change's).
    evidence        text        NOT NULL DEFAULT '',
    reason          text        NOT NULL CHECK (btrim(reason) <> ''),
    proposed_by     bigint      NOT NULL REFERENCES staff (id),
    proposed_at     timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'superseded')),
    decided_by      bigint      REFERENCES staff (id),
    decided_at      timestamptz,
    decision_reason text,
    PRIMARY KEY (account_bidx, id),
    CHECK ((kind = 'phone') = (phone_sealed IS NOT NULL AND phone_bidx IS NOT NULL AND phone_hint IS NOT NULL)),
    CHECK ((kind = 'conflict') = (conflict_id IS NOT NULL AND field IS NOT NULL AND value IS NOT NULL)),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- At most one pending proposal of an account's phone, and one of each of
-- its conflicts (a new one supersedes it).
CREATE UNIQUE INDEX staff_proposal_pending ON staff_proposal (account_bidx, kind, coalesce(conflict_id, 0)) WHERE status = 'pending';
-- 审核's queue.
CREATE INDEX staff_proposal_queue ON staff_proposal (proposed_at) WHERE status = 'pending';

-- A resolved conflict: who approved it, when, and the value that survived.
ALTER TABLE merge_conflict
    ADD COLUMN resolved_by    bigint REFERENCES staff (id),
    ADD COLUMN resolved_at    timestamptz,
    ADD COLUMN resolved_value text;

-- A name staff resolved (工作人员核定): it ranks as the citizen's in
-- survivorship, so no later import replaces it.
ALTER TABLE account ADD COLUMN name_pinned boolean NOT NULL DEFAULT false;

GRANT SELECT, INSERT, UPDATE (status, decided_by, decided_at, decision_reason) ON staff_proposal TO idfusion_authsvc;
-- SELECT of the columns it reads: 039.
GRANT UPDATE (status, resolved_by, resolved_at, resolved_value) ON merge_conflict TO idfusion_authsvc;
-- An import reads the pin (and never changes it).
GRANT SELECT (name_pinned) ON account TO idfusion_import;
