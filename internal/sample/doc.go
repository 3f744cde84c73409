// Package sample generates deterministic departmental exports for demos,
// tests and benchmarks: several departments with their own layouts, header
// names, encodings and formats; realistic people with valid ID numbers over
// real region codes; cross-department duplicates with differing phones and
// update times; and every kind of dirt the cleanse stage handles, each with
// the reason code it must produce. Alongside the files it writes the
// departments' mapping files and a truth file of what a correct pipeline
// must find.
//
// People are derived from their index by hashing, never held in memory, so
// ten million rows take no more memory than ten.
package sample
