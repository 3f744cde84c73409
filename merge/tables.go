package merge

// LoadTables are the tables a run writes rows into (Load), in the order it
// writes them; the load benchmark's floor (internal/floor) reloads the
// same rows into copies of these tables. Keep it in step with Load.
var LoadTables = []string{
	"department", "import_run", "source_file", "account", "account_key", "account_lineage",
	"merge_conflict", "import_reject", "import_file",
}
