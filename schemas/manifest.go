package schemas

import (
	"os"
	"path/filepath"
)

// Manifest lists the files of one import run, for files whose names do not
// say their department. Paths are relative to the manifest's folder.
//
//	mapping_dir: mappings
//	files:
//	  - path: inbox/2026-11/公安导出.csv
//	    dept: gongan
//	  - path: exports/renshe_users.csv   # dept from the name
type Manifest struct {
	// MappingDir is the folder of the departments' mapping files. Required.
	MappingDir string `yaml:"mapping_dir" validate:"required"`
	// Files are the run's files, at least one.
	Files []ManifestFile `yaml:"files" validate:"required,min=1,dive"`
	// Path is the manifest file (not part of the YAML).
	Path string `yaml:"-"`
}

// ManifestFile is one file of a run.
type ManifestFile struct {
	// Path of the export. Required.
	Path string `yaml:"path" validate:"required"`
	// Dept is the department code; default: from the file or folder name.
	Dept string `yaml:"dept" validate:"omitempty,min=2,max=32,lowercase,alphanum"`
}

// LoadManifest reads and validates a run manifest; relative paths are
// resolved against its folder. Errors name the file and the field.
func LoadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &MappingError{Path: path, Err: err}
	}
	var m Manifest
	if field, err := DecodeYAML(b, &m); err != nil {
		return nil, &MappingError{Path: path, Field: field, Err: err}
	}
	m.Path = path
	base := filepath.Dir(path)
	rel := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	m.MappingDir = rel(m.MappingDir)
	for i := range m.Files {
		m.Files[i].Path = rel(m.Files[i].Path)
	}
	return &m, nil
}
