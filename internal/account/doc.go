// Package account owns the account table: one row per person, found by
// the blind index of the ID number. Both halves of idfusion write it, and
// both do it through this package only: the fusion pipeline (new fused
// accounts, the departments' values of existing ones) and the login
// service (the completion, the verified phone, the password, the failure
// counters and locks). Neither holds SQL of the account table of its own.
//
// The rules the two halves share live here:
//
//   - The key. An ID number and a phone are normalized by one rule,
//     NormalizeID and NormalizePhone (cleanse's, for the pipeline and for
//     every login alike), and found by the blind index of the normalized
//     form (IDIndex, PhoneIndex).
//   - Who set a value. name_source, phone_source and address_source point
//     at the lineage row of the department value that survived; NULL
//     means the citizen set it (at registration or first login). A
//     citizen's value, and a phone the citizen verified (phone_verified),
//     outrank every department: an import never replaces them (Stored
//     reports them as the citizen's; ApplyUpdates writes a value only over
//     the one the run read). The login service sets a value by clearing
//     its source (Complete, VerifyPhone) and touches no other source.
//   - What each half may change. An import never changes status,
//     required_steps, the password or the counters (the importer's
//     database role has no grant on those columns); the login service
//     never writes a department's value.
//   - Ids. The pipeline reserves blocks of ids (ReserveIDs); everyone else
//     takes one nextval at a time. ReserveIDs relies on that: see there.
package account
