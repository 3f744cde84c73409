package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// fusion import with arguments missing says what is missing, in a
// sentence, before the usage.
func TestImportSaysWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to import"},
		{[]string{"a.csv"}, "no mapping"},
		{[]string{"--mapping", "m.yaml"}, "no files to import"},
		{[]string{"--mapping", "m.yaml", "--mapping-dir", "d", "a.csv"}, "either --mapping or --mapping-dir"},
		{[]string{"--manifest", "run.yaml", "a.csv"}, "--manifest names the mappings"},
	} {
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, log: slog.New(slog.NewTextHandler(&errb, nil)), getenv: func(string) string { return "" }}
		code := run(context.Background(), e, append([]string{"import"}, tc.args...))
		got := errb.String()
		first, _, _ := strings.Cut(got, "\n")
		if code != exitUsage || !strings.HasPrefix(first, "fusion import: ") || !strings.Contains(first, tc.want) {
			t.Errorf("fusion import %v: exit %d, first line %q, want %q", tc.args, code, first, tc.want)
		}
		if !strings.Contains(got, "usage: fusion import") {
			t.Errorf("fusion import %v: no usage after the sentence", tc.args)
		}
	}
}
