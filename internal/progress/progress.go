// Package progress draws a one-line progress bar on a terminal and stays
// silent otherwise, so logs and pipes get no control characters.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar tracks the progress of several parts (files) and redraws at most
// every Interval. Safe for concurrent use.
type Bar struct {
	w        io.Writer
	label    string
	start    time.Time
	interval time.Duration
	mu       sync.Mutex
	parts    []float64
	last     time.Time
	done     bool
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// New returns a bar over n parts drawn on w, or nil (a no-op Bar) when w is
// not a terminal.
func New(w *os.File, label string, n int) *Bar {
	if !IsTerminal(w) {
		return nil
	}
	return &Bar{w: w, label: label, start: time.Now(), interval: 100 * time.Millisecond, parts: make([]float64, n)}
}

// Set records that part i is done of total and redraws if due.
func (b *Bar) Set(i int, done, total int64) {
	if b == nil || total <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.parts[i] = min(1, float64(done)/float64(total))
	if time.Since(b.last) >= b.interval {
		b.draw()
	}
}

func (b *Bar) draw() {
	b.last = time.Now()
	var sum float64
	for _, p := range b.parts {
		sum += p
	}
	frac := sum / float64(len(b.parts))
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r%s [%s%s] %3.0f%% %s", b.label, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		frac*100, time.Since(b.start).Round(100*time.Millisecond))
}

// Done draws the final state and ends the line; later calls do nothing.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	for i := range b.parts {
		b.parts[i] = 1
	}
	b.draw()
	fmt.Fprintln(b.w)
}

// Stage prints "name …" on a terminal and, when the returned function is
// called, the time it took; elsewhere it prints nothing.
func Stage(w *os.File, name string) (done func()) {
	if !IsTerminal(w) {
		return func() {}
	}
	start := time.Now()
	fmt.Fprintf(w, "%s …", name)
	return func() { fmt.Fprintf(w, " %s\n", time.Since(start).Round(10*time.Millisecond)) }
}
