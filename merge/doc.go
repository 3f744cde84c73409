// Package merge turns clean rows from many departments into one account per
// person: it groups rows by ID number, applies per-field survivorship,
// records conflicts, reconciles against the account store and loads a run
// in one transaction with its lineage and reconciliation ledger.
//
// Files: merger.go (grouping the run's rows by person), survivor.go (the
// surviving value of each field), load.go (Load: the run, its lock and its
// steps), reconcile.go (the pure decisions against the accounts the store
// has: a citizen's values stay; conflicts), stored.go (reading and writing
// them, through internal/account, which owns the account table; the
// conflicts), reserve.go (blocks of lineage ids), copy.go (the bulk COPY of
// new accounts and rejects), lineage.go (every input row's lineage),
// ledger.go (the ledger check before commit).
package merge
