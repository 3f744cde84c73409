package retention

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseAge: days and Go durations; nothing that is not a positive
// period.
func TestParseAge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration // 0: refused
	}{
		{"180d", 180 * 24 * time.Hour},
		{"1d", 24 * time.Hour},
		{"36h", 36 * time.Hour},
		{"90m", 90 * time.Minute},
		{"0d", 0},
		{"-3d", 0},
		{"0s", 0},
		{"d", 0},
		{"1.5d", 0},
		{"soon", 0},
		{"", 0},
	} {
		got, err := ParseAge(tt.in)
		if got != tt.want || (err == nil) != (tt.want != 0) {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestOutputTargetsFeedbackCSV: in an output folder, the CSVs beside a
// department's workbook (its values in clear) go with it once old, and so
// does the spill folder a killed run left (an older version's findings
// folder too); a report, a file or
// folder that is not the pipeline's, and anything recent stay.
func TestOutputTargetsFeedbackCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := time.Now().Add(-200 * 24 * time.Hour)
	for _, name := range []string{".findings-1", ".spill-2", ".spill-3", ".other-1"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "findings-1.bin"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"ga-feedback.xlsx", "ga-feedback-rejects.csv", "ga-feedback-warnings.csv", "run-1.json", "notes.csv", "rs-feedback-rejects.csv", ".findings-1", ".spill-2", ".other-1"} {
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if name != "rs-feedback-rejects.csv" {
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	targets, err := outputTargets(dir, time.Now().Add(-180*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets {
		got = append(got, fmt.Sprint(tg.name, " ", tg.files))
	}
	if want := []string{".findings-1 1", ".spill-2 1", "ga-feedback-rejects.csv 1", "ga-feedback-warnings.csv 1", "ga-feedback.xlsx 1"}; !slices.Equal(want, got) {
		t.Errorf("targets %q, want %q", got, want)
	}
}
