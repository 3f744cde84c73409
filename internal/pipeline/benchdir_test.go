package pipeline

import "os"

// filepathTemp makes a folder for benchmark data that outlives one
// benchmark (b.TempDir would be removed between sub-benchmarks).
func filepathTemp() (string, error) { return os.MkdirTemp("", "idfusion-bench-") }
