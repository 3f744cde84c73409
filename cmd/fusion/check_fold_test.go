package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/cleanse"
)

// TestCheckUnixUpdateTimes: fusion check on a file of Unix-second update
// times says once that the mapping is wrong; declared, the times read.
func TestCheckUnixUpdateTimes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("姓名,身份证号,更新时间\n")
	for i := range 30 {
		first := fmt.Sprintf("11010519800101%03d", 100+i)
		fmt.Fprintf(&b, "张三,%s%c,%d\n", first, cleanse.IDCheckChar(first), 1700000000+i)
	}
	file := filepath.Join(dir, "weijian_2026.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const mapping = "department: {code: weijian, name: 省卫健委}\npriority: 3\ncolumns: {name: 姓名, id_number: 身份证号, updated_at: 更新时间}\n"
	const line = "weijian_2026.csv: UPDATED_AT_INVALID updated_at (30 of 30 rows): 更新时间在 100% 的行中"
	for _, tt := range []struct {
		extra string
		want  bool
	}{{"", true}, {"updated_at_formats: [unix]\n", false}} {
		m := filepath.Join(t.TempDir(), "weijian.yaml")
		if err := os.WriteFile(m, []byte(mapping+tt.extra), 0o644); err != nil {
			t.Fatal(err)
		}
		// Named twice (overlapping globs), the file is read once.
		code, out := runCLI(t, "check", "--mapping", m, "--out", t.TempDir(), file, filepath.Join(dir, ".", "weijian_2026.csv"))
		if code != exitOK {
			t.Fatalf("check %q: exit code %d", tt.extra, code)
		}
		if got := strings.Count(out, line) == 1; got != tt.want {
			t.Errorf("check %q: file-level finding printed once = %v, want %v:\n%s", tt.extra, got, tt.want, out)
		}
	}
}
