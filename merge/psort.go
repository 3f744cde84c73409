package merge

import (
	"slices"
	"sync"
)

// sortParallel sorts s with cmp on two goroutines, each half on its own,
// and returns the halves merged into a new slice. cmp must be a total
// order (no two elements equal) for the result not to depend on the split.
func sortParallel[T any](s []T, cmp func(a, b T) int) []T {
	half := len(s) / 2
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(s[:half], cmp) })
	slices.SortFunc(s[half:], cmp)
	wg.Wait()
	out := make([]T, 0, len(s))
	a, b := s[:half], s[half:]
	for len(a) > 0 && len(b) > 0 {
		if cmp(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
