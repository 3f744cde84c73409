-- Every export of the golden records (fusion export), masked or not. An
-- export that decrypts ID numbers and phones must give a reason, and the
-- row is written (and committed) before the first value is decrypted, so
-- even an export that crashes half-way leaves its trace.
CREATE TABLE export_audit (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    reason    text        NOT NULL DEFAULT '',
    -- Rows written; NULL while the export runs, and for ever if it failed.
    rows      bigint,
    -- The output file, as an absolute path.
    path      text        NOT NULL,
    decrypted boolean     NOT NULL,
    CHECK (NOT decrypted OR reason <> '')
);
