// Package merge turns clean rows from many departments into one account per
// person: it groups rows by ID number, applies per-field survivorship,
// records conflicts, reconciles against the account store and loads a run
// in one transaction with its lineage and reconciliation ledger.
package merge
