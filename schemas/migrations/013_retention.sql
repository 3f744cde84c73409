-- Retention of the personal data of rejected rows (fusion purge and the
-- scheduler's purge_rejects job, package internal/retention).
--
-- A rejected row keeps what the ledger and the reports count (its run,
-- file, row number, reason code and field); its source key and value (a
-- name, an address, a masked ID number or phone) are cleared once its run
-- finished longer ago than the configured period. Every purge leaves a
-- row here, written in the transaction that clears the rejects.
CREATE TABLE purge_audit (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    trigger     text        NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    -- The period, and what it meant at the time: data of runs finished
    -- before cutoff, and files last written before it.
    older_than  interval    NOT NULL,
    cutoff      timestamptz NOT NULL,
    -- Rejected rows cleared, and the runs they belonged to.
    reject_rows bigint      NOT NULL,
    runs        bigint      NOT NULL,
    -- Files deleted (those inside deleted folders included) and the
    -- folders deleted; NULL while the purge deletes them, and for ever if
    -- that failed.
    files       bigint,
    folders     bigint
);

-- The importer's role runs the purges: it clears the two personal fields
-- of import_reject (nothing else of it) and records the purge.
GRANT UPDATE (source_key, value) ON import_reject TO idfusion_import;
GRANT SELECT, INSERT ON purge_audit TO idfusion_import;
GRANT UPDATE (files, folders) ON purge_audit TO idfusion_import;
