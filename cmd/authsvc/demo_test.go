package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idfusion/idfusion/authsvc"
	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/pipeline"
	"github.com/idfusion/idfusion/internal/sample"
	"github.com/idfusion/idfusion/schemas"
)

// make demo prints the sample citizens still pending, and says how many
// before them are done, instead of the same three every run.
func TestDemoCitizens(t *testing.T) {
	pool := dbtest.New(t)
	keys, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"460102199003070011", "460102199003070038", "460102199003070054", "460102199003070070", "460102199003070097"}
	insert := func(id, status string) {
		t.Helper()
		_, err := pool.Exec(context.Background(), `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, required_steps)
			VALUES ($1, $2, $3, 'resident', '韩梅梅', $4, 'fused', '{}')`,
			account.IDIndex(keys, id), keys.Seal([]byte(id), []byte("id_number")), pii.MaskID(id), status)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(ids[0], "active")
	insert(ids[1], "pending_completion")
	insert(ids[2], "active")
	insert(ids[3], "pending_completion")
	insert(ids[4], "pending_completion")
	truth := "id_number,name,phone\n" + ids[0] + ",甲,13900000001\n" + ids[1] + ",乙,13900000002\n" + ids[2] + ",丙,13900000003\n" +
		"460102199003070118,丁,\n" + ids[3] + ",戊,13900000005\n" + ids[4] + ",己,13900000006\n"
	var out bytes.Buffer
	if _, err := demoCitizens(context.Background(), pool, keys, strings.NewReader(truth), &out, 2); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{ids[1] + "  乙", ids[3] + "  戊", "(2 citizen(s) before them have completed"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	for _, never := range []string{ids[0], ids[2], ids[4]} {
		if strings.Contains(got, never) {
			t.Errorf("shows %s:\n%s", never, got)
		}
	}
	// Everyone done: said so.
	out.Reset()
	if _, err := demoCitizens(context.Background(), pool, keys, strings.NewReader("id_number,name,phone\n"+ids[0]+",甲,13900000001\n"), &out, 3); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "have completed their first login") {
		t.Errorf("all done: %s", out.String())
	}
}

// Ctrl-C of the demo is how it ends: make reports no error (it used to
// end with make: *** Error 130).
func TestDemoCtrlCIsNoError(t *testing.T) {
	// make runs the tests themselves (make test): it is there.
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed to run the demo as a newcomer does: %v", err)
	}
	bin, data := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{
		"authsvc": "#!/bin/sh\necho serving\nwhile :; do sleep 0.1; done\n",
		"demorp":  "#!/bin/sh\nwhile :; do sleep 0.1; done\n",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "demorp.secret"), []byte("s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-C", "../..", "demo-serve", "BIN="+bin, "DATA="+data)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	serving, read := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if !once && sc.Text() == "serving" {
				once = true
				close(serving)
			}
		}
	}()
	select {
	case <-serving:
	case <-time.After(20 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatal("the demo did not start")
	}
	// The terminal's Ctrl-C: SIGINT to the whole foreground group.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	cmd.Wait()
	pw.Close()
	<-read
	out := all.String()
	if strings.Contains(out, "make: ***") || !strings.Contains(out, "demo stopped") {
		t.Errorf("Ctrl-C of the demo:\n%s", out)
	}
}

// make demo prints the fused legal persons pending their first login,
// with the representative whose face step ③ asks for; never one done.
func TestDemoLegal(t *testing.T) {
	pool := dbtest.New(t)
	keys, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{"91460100MA5T00001", "91460100MA5T00002", "91460100MA5T00003"}
	for i, c := range codes {
		codes[i] = c + string(cleanse.USCCCheckChar(c))
	}
	for i, status := range []string{"pending_completion", "active", "pending_completion"} {
		_, err := pool.Exec(context.Background(), `INSERT INTO account (kind, id_bidx, id_sealed, id_hint, id_type, name, status, origin, required_steps,
				legal_type, realname_status)
			VALUES ('legal', $1, $2, $3, 'uscc', '椰风公司', $4, 'fused', '{}', 'enterprise', 'unverified')`,
			account.CreditCodeIndex(keys, codes[i]), account.SealID(keys, codes[i]), account.CreditCodeHint(codes[i]), status)
		if err != nil {
			t.Fatal(err)
		}
	}
	truth := "credit_code,name,legal_type,rep_name,rep_id_number,rep_is_person,phone\n" +
		codes[0] + ",甲公司,enterprise,吴斌,460102197001010011,0,13900000001\n" +
		codes[1] + ",乙公司,enterprise,吴斌,460102197001010011,0,13900000002\n" +
		codes[2] + ",丙公司,enterprise,,,0,13900000003\n"
	var out bytes.Buffer
	first, err := demoLegal(context.Background(), pool, keys, strings.NewReader(truth), &out, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, codes[0]+"  甲公司  13900000001  (法定代表人 吴斌 460102197001010011)") {
		t.Errorf("lacks the pending legal person:\n%s", got)
	}
	for _, never := range codes[1:] { // done; no representative for the face step
		if strings.Contains(got, never) {
			t.Errorf("shows %s:\n%s", never, got)
		}
	}

	// The first legal person printed authorizes a citizen as its agent:
	// a pending authorization with its link, once.
	id := "460102199003070011"
	var citizen int64
	if err := pool.QueryRow(context.Background(), `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, required_steps)
		VALUES ($1, $2, $3, 'resident', '韩梅梅', 'pending_completion', 'fused', '{info,password,face}') RETURNING id`,
		account.IDIndex(keys, id), keys.Seal([]byte(id), []byte("id_number")), pii.MaskID(id)).Scan(&citizen); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := demoAgent(context.Background(), pool, &demoAccount{id: citizen, name: "韩梅梅", key: id}, first, "http://127.0.0.1:8080", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "http://127.0.0.1:8080/agent/confirm?t=") {
		t.Errorf("no link to accept:\n%s", out.String())
	}
	var state string
	if err := pool.QueryRow(context.Background(), `SELECT state FROM agent_authorization WHERE legal_account_id = $1 AND agent_account_id = $2`, first.id, citizen).Scan(&state); err != nil || state != "pending" {
		t.Errorf("authorization %q %v, want pending", state, err)
	}
	out.Reset()
	if err := demoAgent(context.Background(), pool, &demoAccount{id: citizen, name: "韩梅梅", key: id}, first, "http://127.0.0.1:8080", &out); err != nil || !strings.Contains(out.String(), "already") {
		t.Errorf("seeded again: %v\n%s", err, out.String())
	}
}

// The demo's world agrees with itself: the sample's legal persons,
// imported, are verified by the development registry serving the
// sample's enterprise_registry.json — every one the job checks; and the
// stand-in upstream provider's citizens (upstream_citizens.json) have an
// account exactly when the sample says the departments hold them.
func TestDemoRegistryVerifiesSample(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := sample.Generate(ctx, sample.Config{Dir: dir, Rows: 300, Seed: 3, Legal: 40})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := schemas.LoadMappingDir(filepath.Join(dir, "mappings"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range truth.Files {
		paths = append(paths, filepath.Join(dir, f.Path))
	}
	inputs, err := pipeline.MatchInputs(paths, ms)
	if err != nil {
		t.Fatal(err)
	}
	pool := dbtest.New(t)
	keys, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Import(ctx, pool, inputs, pipeline.ImportConfig{Keyring: keys, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	fixture, err := authsvc.LoadEnterpriseFixture(filepath.Join(dir, "enterprise_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	rs := httptest.NewServer(authsvc.NewEnterpriseRegistry(fixture, 0, nil))
	t.Cleanup(rs.Close)
	svc, err := authsvc.New(pool, authsvc.Config{Keyring: keys, BaseURL: "https://idfusion.test", Dev: true,
		Enterprise: &authsvc.HTTPEnterpriseVerifier{URL: rs.URL, Client: rs.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.RecheckRealname(ctx)
	if err != nil || int64(res.Checked) != truth.Legal || res.Verified != res.Checked {
		t.Fatalf("recheck of the imported sample: %+v %v; want all %d verified", res, err, truth.Legal)
	}
	b, err := os.ReadFile(filepath.Join(dir, "upstream_citizens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var upstream []struct {
		Name      string `json:"name"`
		IDNumber  string `json:"id_number"`
		InExports bool   `json:"in_exports"`
	}
	if err := json.Unmarshal(b, &upstream); err != nil {
		t.Fatal(err)
	}
	known := 0
	for _, c := range upstream {
		a, err := account.ByIDIndex(ctx, pool, account.IDIndex(keys, c.IDNumber))
		if err != nil {
			t.Fatal(err)
		}
		if (a != nil) != c.InExports || (a != nil && a.Name != c.Name) {
			t.Errorf("upstream citizen %s (in exports %v): account %+v", c.Name, c.InExports, a)
		}
		if c.InExports {
			known++
		}
	}
	if known == 0 || known == len(upstream) {
		t.Errorf("upstream citizens: %d of %d known; want both kinds", known, len(upstream))
	}
}
