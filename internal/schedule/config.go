package schedule

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/idfusion/idfusion/internal/retention"
	"github.com/idfusion/idfusion/schemas"
)

// Config is the scheduler's configuration, one YAML file. Relative paths
// are resolved against the file's folder.
//
//	time_zone: Asia/Shanghai
//	mapping_dir: mappings
//	settle: 1m
//	departments:
//	  - {code: gongan, inbox: /srv/inbox/gongan, schedule: "0 2 * * *"}
//	  - {code: renshe, inbox: /srv/inbox/renshe, schedule: "@every 30m"}
//	housekeeping:
//	  - {job: purge_auth, schedule: "@hourly"}
//	  - {job: purge_rejects, schedule: "0 3 * * *", older_than: 180d}
type Config struct {
	// TimeZone of the cron schedules and of the dated folders. Default
	// Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
	// MappingDir is the folder of the departments' mapping files. Required.
	MappingDir string `yaml:"mapping_dir" validate:"required"`
	// Settle is how long a file without a ".done" marker must have been
	// left unchanged (by its modification time) before it is taken, as a Go
	// duration ("90s", "5m"). Default "1m".
	Settle string `yaml:"settle"`
	// OutDir, if set, receives a copy of every run report
	// (run-<id>.json), so that operators find the runs of all departments
	// in one folder. Default: none (the reports stay in the inboxes).
	OutDir string `yaml:"out_dir"`
	// Departments are the departments whose inboxes are watched; at least
	// one.
	Departments []Department `yaml:"departments" validate:"required,min=1,dive"`
	// Housekeeping are the maintenance jobs to run, each registered by the
	// caller under its name (Options.Housekeeping), or purge_rejects,
	// which the scheduler itself provides.
	Housekeeping []Housekeeping `yaml:"housekeeping" validate:"dive"`

	// Path is the file the configuration was loaded from (not part of the
	// YAML).
	Path string `yaml:"-"`

	loc      *time.Location
	settle   time.Duration
	mappings map[string]*schemas.Mapping
}

// Department is one department's inbox and schedule.
type Department struct {
	// Code is the department's code; mapping_dir must hold its mapping.
	// Required.
	Code string `yaml:"code" validate:"required,min=2,max=32,lowercase,alphanum"`
	// Inbox is the folder the department drops its exports into; it must
	// exist. Required.
	Inbox string `yaml:"inbox" validate:"required"`
	// Schedule is when the inbox is looked at: a standard 5-field cron
	// spec ("0 2 * * *") or a descriptor ("@hourly", "@every 10m"), in
	// TimeZone. Required.
	Schedule string `yaml:"schedule" validate:"required"`

	spec cron.Schedule
}

// Housekeeping is one maintenance job and its schedule.
type Housekeeping struct {
	// Job is the name the job is registered under, e.g. "purge_auth".
	// Required.
	Job string `yaml:"job" validate:"required"`
	// Schedule is a cron spec as for Department.Schedule. Required.
	Schedule string `yaml:"schedule" validate:"required"`
	// OlderThan is the period of the purge_rejects job ("180d", "36h"):
	// data older than that goes. Required for purge_rejects, refused for
	// the other jobs.
	OlderThan string `yaml:"older_than"`

	spec      cron.Schedule
	olderThan time.Duration
}

// jobPurgeRejects is the housekeeping job built into the scheduler: it
// needs the departments' inboxes (see purge.go).
const jobPurgeRejects = "purge_rejects"

// ConfigError says which configuration file and which field is wrong.
type ConfigError struct {
	Path  string
	Field string // YAML path of the field, e.g. "departments[1].schedule"; "" for the whole file
	Err   error
}

func (e *ConfigError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("schedule config %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("schedule config %s: field %s: %v", e.Path, e.Field, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Load reads, defaults and validates a configuration file: the YAML, the
// time zone, the settle time, every cron spec, every department's mapping
// (loaded from mapping_dir) and inbox. Housekeeping job names are checked
// by New, against the jobs the caller registers.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	return Parse(path, b)
}

// Parse is Load of a configuration already read from path.
func Parse(path string, b []byte) (*Config, error) {
	var c Config
	if field, err := schemas.DecodeYAML(b, &c); err != nil {
		return nil, &ConfigError{Path: path, Field: field, Err: err}
	}
	c.Path = path
	fail := func(field string, format string, args ...any) error {
		return &ConfigError{Path: path, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if c.TimeZone == "" {
		c.TimeZone = "Asia/Shanghai"
	}
	var err error
	if c.loc, err = time.LoadLocation(c.TimeZone); err != nil {
		return nil, fail("time_zone", "%v", err)
	}
	if c.Settle == "" {
		c.Settle = "1m"
	}
	if c.settle, err = time.ParseDuration(c.Settle); err != nil || c.settle < 0 {
		return nil, fail("settle", "%q is not a duration of zero or more, such as 90s or 5m", c.Settle)
	}
	base := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	c.MappingDir, c.OutDir = rel(c.MappingDir), rel(c.OutDir)
	if c.mappings, err = schemas.LoadMappingDir(c.MappingDir); err != nil {
		return nil, &ConfigError{Path: path, Field: "mapping_dir", Err: err}
	}
	codes := map[string]int{}
	var inboxes []os.FileInfo // by department, to catch one folder under two names (a symlink)
	for i := range c.Departments {
		d := &c.Departments[i]
		field := func(name string) string { return fmt.Sprintf("departments[%d].%s", i, name) }
		if j, dup := codes[d.Code]; dup {
			return nil, fail(field("code"), "department %q is also departments[%d]", d.Code, j)
		}
		codes[d.Code] = i
		if c.mappings[d.Code] == nil {
			return nil, fail(field("code"), "no mapping for department %q in %s (known: %v)", d.Code, c.MappingDir, slices.Sorted(maps.Keys(c.mappings)))
		}
		d.Inbox = filepath.Clean(rel(d.Inbox))
		fi, err := os.Stat(d.Inbox)
		if err != nil {
			return nil, fail(field("inbox"), "%v", err)
		} else if !fi.IsDir() {
			return nil, fail(field("inbox"), "%s is not a folder", d.Inbox)
		}
		// The same folder under two departments' locks would be imported by
		// both.
		if j := slices.IndexFunc(inboxes, func(o os.FileInfo) bool { return os.SameFile(o, fi) }); j >= 0 {
			return nil, fail(field("inbox"), "%s is also the inbox of departments[%d]", d.Inbox, j)
		}
		inboxes = append(inboxes, fi)
		if d.spec, err = cron.ParseStandard(d.Schedule); err != nil {
			return nil, fail(field("schedule"), "%q: %v", d.Schedule, err)
		}
	}
	jobs := map[string]int{}
	for i := range c.Housekeeping {
		h := &c.Housekeeping[i]
		if j, dup := jobs[h.Job]; dup {
			return nil, fail(fmt.Sprintf("housekeeping[%d].job", i), "job %q is also housekeeping[%d]", h.Job, j)
		}
		jobs[h.Job] = i
		if h.spec, err = cron.ParseStandard(h.Schedule); err != nil {
			return nil, fail(fmt.Sprintf("housekeeping[%d].schedule", i), "%q: %v", h.Schedule, err)
		}
		switch {
		case h.Job == jobPurgeRejects:
			if h.olderThan, err = retention.ParseAge(h.OlderThan); err != nil {
				return nil, fail(fmt.Sprintf("housekeeping[%d].older_than", i), "%v (required for %s)", err, jobPurgeRejects)
			}
		case h.OlderThan != "":
			return nil, fail(fmt.Sprintf("housekeeping[%d].older_than", i), "only the %s job takes a period", jobPurgeRejects)
		}
	}
	return &c, nil
}

// checkJobs reports the first housekeeping job that is not registered.
func (c *Config) checkJobs(registered map[string]func(ctx context.Context) error) error {
	for i, h := range c.Housekeeping {
		if registered[h.Job] == nil && h.Job != jobPurgeRejects {
			return &ConfigError{Path: c.Path, Field: fmt.Sprintf("housekeeping[%d].job", i),
				Err: fmt.Errorf("unknown job %q (known: %v)", h.Job, slices.Sorted(maps.Keys(registered)))}
		}
	}
	return nil
}
