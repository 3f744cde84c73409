// Package pii protects sensitive personal information (ID numbers, phones):
// masking for display, and (with the account store) sealing at rest and
// blind indexes for lookup.
package pii
