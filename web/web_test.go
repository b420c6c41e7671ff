package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestFiles checks that the page and every asset it names are embedded, and that nothing in the
// console reaches off the origin (the CSP allows only 'self').
func TestFiles(t *testing.T) {
	f := Files()
	index, err := fs.ReadFile(f, "index.html")
	if err != nil {
		t.Fatalf("index.html: %v", err)
	}
	refs := regexp.MustCompile(`(?:src|href)="/([^"#]+)"`).FindAllStringSubmatch(string(index), -1)
	if len(refs) == 0 {
		t.Fatal("index.html names no assets")
	}
	for _, r := range refs {
		if _, err := fs.Stat(f, r[1]); err != nil {
			t.Errorf("index.html names /%s, which is not embedded: %v", r[1], err)
		}
	}
	imports := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';`)
	// An address another origin would serve; the SVG namespace is a name, never fetched.
	offOrigin := regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/`)
	namespace := regexp.MustCompile(`xmlns="http://www\.w3\.org/2000/svg"`)
	fs.WalkDir(f, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(f, path)
		b = namespace.ReplaceAll(b, nil)
		if m := offOrigin.Find(b); m != nil {
			t.Errorf("%s refers to another origin (%s): the CSP allows only 'self'", path, m)
		}
		if strings.Contains(string(b), " style=\"") {
			t.Errorf("%s has an inline style attribute, which the CSP blocks", path)
		}
		if strings.HasSuffix(path, ".js") {
			for _, m := range imports.FindAllStringSubmatch(string(b), -1) {
				dir := path[:strings.LastIndex(path, "/")+1]
				if _, err := fs.Stat(f, dir+m[1]); err != nil {
					t.Errorf("%s imports ./%s, which is not embedded", path, m[1])
				}
			}
		}
		return nil
	})
}
