package schemas

// FileLedger is the accounting of one file of an import run, as the run
// stores it in its ledger (import_run.ledger, key "files") and as reports
// read it back: the JSON keys are the contract between the two.
type FileLedger struct {
	Dept     string `json:"dept"`
	Name     string `json:"name"`
	SHA256   string `json:"sha256"`
	Format   string `json:"format"`
	Encoding string `json:"encoding,omitempty"`
	Read     int64  `json:"rows_read"`
	Accepted int64  `json:"rows_accepted"`
	Rejected int64  `json:"rows_rejected"`
	Warnings int64  `json:"warnings"`
	// Lineage is the number of lineage rows of the file in the database
	// after the load: it must equal Accepted.
	Lineage int64 `json:"lineage_rows"`
}
