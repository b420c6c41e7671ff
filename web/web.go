// Package web holds Careway's web console: plain HTML, CSS and JavaScript files embedded in the
// binary and served at / by the handlers package. There is no build step; the browser loads the
// files as they are written (ES modules), so what is in static/ is exactly what is served.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Files returns the console's files, rooted at the folder served at /. index.html is the page;
// everything else is the assets it loads.
func Files() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil { // only if the embed directive and the folder name disagree: a build error
		panic(err)
	}
	return sub
}
