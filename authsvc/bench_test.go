package authsvc

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// BenchmarkPasswordLogin is password logins over HTTPS against the real
// database with the production hash parameters, as many at once as the
// hasher allows; compare its logins/s with BenchmarkArgon2idRawRate (the
// raw hash rate with the same parameters and parallelism).
func BenchmarkPasswordLogin(b *testing.B) {
	bd := setup(b, func(c *Config) { c.Argon2 = DefaultArgon2; c.RequestsPerMinute = 1 << 30 })
	const password = "K9#vTq2!mZ"
	var users []citizen
	for i := range 64 {
		users = append(users, bd.active(b, "王五", fmt.Sprintf("1370000%04d", i), password))
	}
	var next atomic.Int64
	b.SetParallelism(2) // clients per CPU: enough to keep the hasher busy
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		br := bd.browser(b)
		for pb.Next() {
			u := users[next.Add(1)%int64(len(users))]
			if r := br.post("/api/v1/login/password", map[string]string{"id_number": u.IDNumber, "password": password}); r.Status != http.StatusOK {
				b.Errorf("login: %d %s", r.Status, r.Raw)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
}

// BenchmarkArgon2idRawRate is the raw argon2id rate with DefaultArgon2 on
// GOMAXPROCS goroutines: the ceiling of BenchmarkPasswordLogin.
func BenchmarkArgon2idRawRate(b *testing.B) {
	p := DefaultArgon2
	salt := make([]byte, p.SaltLen)
	b.SetParallelism(1)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey([]byte("K9#vTq2!mZ"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hashes/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}

// BenchmarkCompletionSteps is 100 citizens completing steps ① and ② at
// once, each with its own restricted session, and reports the p50 and p99
// latency of each endpoint (the status read, info, password). Step ②
// hashes with the production parameters: its latency is the hasher's
// queue, bounded on purpose.
func BenchmarkCompletionSteps(b *testing.B) {
	bd := setup(b, func(c *Config) { c.Argon2 = DefaultArgon2; c.RequestsPerMinute = 1 << 30; c.CodesPerIPHour = 1 << 30 })
	const clients = 100
	type sample struct{ status, info, password time.Duration }
	var mu sync.Mutex
	var samples []sample
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		browsers := make([]*browser, clients)
		for i := range clients {
			c := bd.fused(b, "赵六", fmt.Sprintf("136%08d", i+len(samples)))
			br := bd.browser(b)
			if r := br.smsLogin(c); r.Status != http.StatusOK {
				b.Fatalf("login: %d %s", r.Status, r.Raw)
			}
			browsers[i] = br
		}
		b.StartTimer()
		var wg sync.WaitGroup
		for _, br := range browsers {
			wg.Go(func() {
				var s sample
				t := time.Now()
				if r := br.get("/api/v1/completion"); r.Status != http.StatusOK {
					b.Errorf("status: %d", r.Status)
				}
				s.status, t = time.Since(t), time.Now()
				if r := br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号"}); r.Status != http.StatusOK {
					b.Errorf("info: %d %s", r.Status, r.Raw)
				}
				s.info, t = time.Since(t), time.Now()
				if r := br.post("/api/v1/completion/password", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ"}); r.Status != http.StatusOK {
					b.Errorf("password: %d %s", r.Status, r.Raw)
				}
				s.password = time.Since(t)
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			})
		}
		wg.Wait()
		// Each round uses fresh phones: the SMS limits stay out of it.
		bd.clock.Advance(2 * time.Minute)
	}
	b.StopTimer()
	pct := func(f func(sample) time.Duration, q float64) float64 {
		d := make([]time.Duration, len(samples))
		for i, s := range samples {
			d[i] = f(s)
		}
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(func(s sample) time.Duration { return s.status }, 0.50), "status-p50-ms")
	b.ReportMetric(pct(func(s sample) time.Duration { return s.status }, 0.99), "status-p99-ms")
	b.ReportMetric(pct(func(s sample) time.Duration { return s.info }, 0.50), "info-p50-ms")
	b.ReportMetric(pct(func(s sample) time.Duration { return s.info }, 0.99), "info-p99-ms")
	b.ReportMetric(pct(func(s sample) time.Duration { return s.password }, 0.50), "password-p50-ms")
	b.ReportMetric(pct(func(s sample) time.Duration { return s.password }, 0.99), "password-p99-ms")
}
