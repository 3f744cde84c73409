package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/idfusion/idfusion/authsvc"
)

// upstreamConfig is the file of --upstream-config: the upstream OpenID
// providers (authsvc.UpstreamProvider), each with the file holding its
// client secret (no secret in the file itself).
type upstreamConfig struct {
	Providers []upstreamEntry `yaml:"providers"`
}

type upstreamEntry struct {
	authsvc.UpstreamProvider `yaml:",inline"`
	// ClientSecretFile holds the client secret (trailing white space
	// dropped); a relative path is relative to the configuration file.
	ClientSecretFile string `yaml:"client_secret_file"`
}

// loadUpstream reads and validates an --upstream-config file; its errors
// name the file, the provider and the field.
func loadUpstream(path string, dev bool) ([]authsvc.UpstreamProvider, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--upstream-config: %w", err)
	}
	var c upstreamConfig
	if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("--upstream-config %s:\n%s", path, yaml.FormatError(err, false, true))
	}
	if len(c.Providers) == 0 {
		return nil, fmt.Errorf("--upstream-config %s: providers: none listed", path)
	}
	var out []authsvc.UpstreamProvider
	seen := map[string]bool{}
	for i, e := range c.Providers {
		p := e.UpstreamProvider
		if e.ClientSecretFile == "" {
			return nil, fmt.Errorf("--upstream-config %s: provider %d (%s): client_secret_file is required", path, i+1, p.ID)
		}
		f := e.ClientSecretFile
		if !filepath.IsAbs(f) {
			f = filepath.Join(filepath.Dir(path), f)
		}
		secret, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--upstream-config %s: provider %d (%s): client_secret_file: %w", path, i+1, p.ID, err)
		}
		p.ClientSecret = strings.TrimRight(string(secret), " \t\r\n")
		if err := p.Validate(dev); err != nil {
			return nil, fmt.Errorf("--upstream-config %s: %w", path, err)
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("--upstream-config %s: provider %s: id listed twice", path, p.ID)
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	return out, nil
}
