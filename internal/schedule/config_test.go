package schedule

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestConfigErrors: every mistake in a configuration is reported with the
// file and the field.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mappings"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "inbox", "gongan"), 0o755); err != nil {
		t.Fatal(err)
	}
	mapping := "department: {code: gongan, name: 省公安厅}\npriority: 1\ncolumns: {name: 姓名, id_number: 身份证号}\n"
	if err := os.WriteFile(filepath.Join(dir, "mappings", "gongan.yaml"), []byte(mapping), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mappings", "weijian.yaml"), []byte(strings.ReplaceAll(mapping, "gongan", "weijian")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("gongan", filepath.Join(dir, "inbox", "alias")); err != nil {
		t.Fatal(err)
	}
	// A pool that never connects: New only checks the configuration.
	pool, err := pgxpool.New(context.Background(), "host=/nonexistent dbname=none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const good = "  - {code: gongan, inbox: inbox/gongan, schedule: \"@hourly\"}\n"
	tests := []struct {
		name, yaml string
		field      string // "" for the whole file
		says       string
	}{
		{"bad cron spec", "mapping_dir: mappings\ndepartments:\n  - {code: gongan, inbox: inbox/gongan, schedule: \"61 * * * *\"}\n",
			"departments[0].schedule", "61"},
		{"cron spec with seconds", "mapping_dir: mappings\ndepartments:\n  - {code: gongan, inbox: inbox/gongan, schedule: \"0 0 2 * * *\"}\n",
			"departments[0].schedule", "expected exactly 5 fields"},
		{"unknown department mapping", "mapping_dir: mappings\ndepartments:\n" + good + "  - {code: renshe, inbox: inbox/gongan, schedule: \"@daily\"}\n",
			"departments[1].code", `no mapping for department "renshe"`},
		{"inbox not given", "mapping_dir: mappings\ndepartments:\n  - {code: gongan, schedule: \"@hourly\"}\n",
			"departments[0].inbox", "required"},
		{"inbox missing", "mapping_dir: mappings\ndepartments:\n  - {code: gongan, inbox: inbox/nowhere, schedule: \"@hourly\"}\n",
			"departments[0].inbox", "no such file or directory"},
		{"unknown housekeeping job", "mapping_dir: mappings\ndepartments:\n" + good + "housekeeping:\n  - {job: purge_auth, schedule: \"@hourly\"}\n  - {job: vacuum, schedule: \"@daily\"}\n",
			"housekeeping[1].job", `unknown job "vacuum"`},
		{"bad housekeeping spec", "mapping_dir: mappings\ndepartments:\n" + good + "housekeeping:\n  - {job: purge_auth, schedule: \"@sometimes\"}\n",
			"housekeeping[0].schedule", "@sometimes"},
		{"purge_rejects without a period", "mapping_dir: mappings\ndepartments:\n" + good + "housekeeping:\n  - {job: purge_rejects, schedule: \"@daily\"}\n",
			"housekeeping[0].older_than", "required for purge_rejects"},
		{"purge_rejects with a bad period", "mapping_dir: mappings\ndepartments:\n" + good + "housekeeping:\n  - {job: purge_rejects, schedule: \"@daily\", older_than: -3d}\n",
			"housekeeping[0].older_than", "-3d"},
		{"a period for another job", "mapping_dir: mappings\ndepartments:\n" + good + "housekeeping:\n  - {job: purge_auth, schedule: \"@daily\", older_than: 180d}\n",
			"housekeeping[0].older_than", "only the purge_rejects job"},
		{"inbox twice through a symlink", "mapping_dir: mappings\ndepartments:\n" + good + "  - {code: weijian, inbox: inbox/alias, schedule: \"@daily\"}\n",
			"departments[1].inbox", "also the inbox of departments[0]"},
		{"department twice", "mapping_dir: mappings\ndepartments:\n" + good + good,
			"departments[1].code", "also departments[0]"},
		{"no departments", "mapping_dir: mappings\ndepartments: []\n", "departments", "min"},
		{"no mapping_dir", "departments:\n" + good, "mapping_dir", "required"},
		{"mapping_dir missing", "mapping_dir: nowhere\ndepartments:\n" + good, "mapping_dir", "no such file"},
		{"bad settle", "mapping_dir: mappings\nsettle: soon\ndepartments:\n" + good, "settle", "soon"},
		{"bad time zone", "mapping_dir: mappings\ntime_zone: Mars/Olympus\ndepartments:\n" + good, "time_zone", "Mars/Olympus"},
		{"bad code", "mapping_dir: mappings\ndepartments:\n  - {code: Gong-An, inbox: inbox/gongan, schedule: \"@hourly\"}\n",
			"departments[0].code", "lowercase"},
		{"unknown key", "mapping_dir: mappings\ndepartments:\n  - {code: gongan, inbox: inbox/gongan, schedule: \"@hourly\", shedule: x}\n",
			"", "shedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if err == nil {
				_, err = New(pool, cfg, Options{Keyring: testKeyring(t), Housekeeping: map[string]func(context.Context) error{
					"purge_auth": func(context.Context) error { return nil },
				}})
			}
			t.Log(err)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *ConfigError", err)
			}
			if diff := cmp.Diff(tt.field, ce.Field); diff != "" {
				t.Errorf("field mismatch (-want +got):\n%s", diff)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tt.says) || (tt.field != "" && !strings.Contains(msg, tt.field)) {
				t.Errorf("error %q does not name the file, the field and %q", msg, tt.says)
			}
		})
	}
}

// TestConfigDefaults: relative paths resolve against the file's folder and
// the defaults are filled in.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{"mappings", "inbox/gongan"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "mappings", "gongan.yaml"),
		[]byte("department: {code: gongan, name: 省公安厅}\npriority: 1\ncolumns: {name: 姓名, id_number: 身份证号}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(p, []byte("mapping_dir: mappings\nout_dir: reports\ndepartments:\n  - {code: gongan, inbox: ./inbox/gongan/, schedule: \"*/5 * * * *\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	got := struct{ TZ, Loc, Settle, MappingDir, OutDir, Inbox string }{
		cfg.TimeZone, cfg.loc.String(), cfg.settle.String(), cfg.MappingDir, cfg.OutDir, cfg.Departments[0].Inbox}
	want := struct{ TZ, Loc, Settle, MappingDir, OutDir, Inbox string }{
		"Asia/Shanghai", "Asia/Shanghai", "1m0s", filepath.Join(dir, "mappings"), filepath.Join(dir, "reports"), filepath.Join(dir, "inbox", "gongan")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}
