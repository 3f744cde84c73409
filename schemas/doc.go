// Package schemas holds the data contracts shared by the stages of the
// fusion pipeline and the login service: the Arrow schemas that pass between
// ingest, cleanse and merge, the department mapping spec, the reason codes
// with their Chinese messages, account states, and the embedded SQL
// migrations.
//
// Stages never import each other; they meet here.
package schemas
