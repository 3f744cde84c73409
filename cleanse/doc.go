// Package cleanse holds the identity rules of the fusion pipeline: how a
// raw cell from a department's export becomes a canonical identity number,
// organization code, phone, name, date or gender — or a reason code saying
// why it cannot.
//
// The functions here are pure: no I/O, no Arrow, no state beyond embedded
// reference data. The batch stage applies them row by row and turns the
// returned codes (schemas.Code) into rejects and warnings, so every rule
// lives in one tested place.
//
// Two principles run through the package. First, clean what spreadsheets
// and legacy systems add by accident — invisible characters, full-width
// forms, the text-forcing wrappers Excel users type — but never guess at
// what is missing: an identity number that lost digits in a number cell is
// rejected, not repaired. Second, reject only on evidence: region codes
// retired since 1980 are still valid in old identity numbers, so an unknown
// county is a warning, and a part whose rule was never published (the
// check digit of the 15-character foreigner card) is not checked.
//
// Normalizing functions are idempotent and allocate nothing for values
// that are already clean, because most cells are.
package cleanse
