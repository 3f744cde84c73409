// Package merge turns clean rows from many departments into one account per
// person: it groups rows by ID number, applies per-field survivorship,
// records conflicts, reconciles against the account store and loads a run
// in one transaction with its lineage and reconciliation ledger.
//
// Files: merger.go (grouping the run's rows by person), spill.go (rows over
// the memory budget written, sealed, to partition files by the blind
// index's leading byte, and read back a group of partitions at a time:
// Batches), survivor.go (the
// surviving value of each field), load.go (Load: the run, its lock and its
// steps, batch by batch in one transaction), reconcile.go (the pure decisions against the accounts the store
// has: a citizen's values stay; conflicts), stored.go (reading and writing
// them, through internal/account, which owns the account table; the
// conflicts), reserve.go (blocks of lineage ids), copy.go (the bulk COPY of
// new accounts and rejects), lineage.go (every input row's lineage),
// ledger.go (the ledger check before commit), legal.go (what only legal
// persons have: their rows keyed by the credit code's blind index, the
// representative and contact person, representative conflicts).
//
// Legal persons (法人, CleanLegal records) go through the same mechanism
// as natural ones: AddClean takes either schema; a legal Row carries a
// pointer to its LegalRow; the representative (all its fields from one
// row) survives by priority, the contact person by recency; a second
// representative ID is a conflict whose candidates show the masked ID
// only. The account's rep_id_bidx is the citizens' blind index of the
// representative's ID, so it links to the citizen's account where one
// exists (account.Representative).
package merge
