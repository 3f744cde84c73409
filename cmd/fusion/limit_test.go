package main

import (
	"fmt"
	"os"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"900MiB", 900 << 20, false},
		{"2GiB", 2 << 30, false},
		{"0", 0, false},
		{"900MB", 0, true},
		{"-1GiB", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := memoryLimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	// auto: a twelfth of the machine's memory, at least 512 MiB, never
	// more than three quarters.
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Fatalf("this test runs on Linux: %v", err)
	}
	auto, err := memoryLimit("auto")
	if err != nil || auto <= 0 {
		t.Fatalf("auto = %d, %v", auto, err)
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	var kb int64
	if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err != nil {
		t.Fatal(err)
	}
	if total := kb << 10; auto != min(max(total/12, 512<<20), total/4*3) {
		t.Errorf("auto = %d, want a twelfth of MemTotal %d within [512MiB, 3/4]", auto, total)
	}
}
