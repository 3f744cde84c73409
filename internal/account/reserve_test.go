package account

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/idfusion/idfusion/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestReserveIDs: blocks of account ids taken while the login service
// registers accounts (nextval one at a time) never share an id with them or
// with each other, and a fresh sequence starts its first block at 1.
func TestReserveIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	first, err := ReserveIDs(ctx, pool, 10)
	if err != nil {
		t.Fatal(err)
	}
	if first != 1 {
		t.Fatalf("first block of a fresh sequence starts at %d, want 1", first)
	}
	taken := map[int64]string{}
	var mu sync.Mutex
	take := func(id int64, by string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := taken[id]; ok {
			t.Errorf("id %d taken by %s and %s", id, prev, by)
		}
		taken[id] = by
	}
	for id := range int64(10) {
		take(1+id, "block 0")
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for range 100 {
				var id int64
				if err := pool.QueryRow(ctx, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin)
					VALUES ($1, '\x00', '1*****1', 'resident', '张三', 'active', 'registered') RETURNING id`, rand.Text()).Scan(&id); err != nil {
					t.Error(err)
					return
				}
				take(id, "registration")
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			first, err := ReserveIDs(ctx, pool, 50)
			if err != nil {
				t.Error(err)
				return
			}
			for id := range int64(50) {
				take(first+id, "block")
			}
		}
	})
	wg.Wait()
	if len(taken) != 10+300+20*50 {
		t.Errorf("%d ids taken, want %d", len(taken), 10+300+20*50)
	}
}
