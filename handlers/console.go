package handlers

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"careway/web"
)

// consoleFile is one file of the web console, read once at start-up.
type consoleFile struct {
	body  []byte
	ctype string
	etag  string
}

// consoleCSP is the console's Content-Security-Policy: everything from this origin only (the
// signaling WebSocket included: CSP 'self' matches ws:/wss: on the same host), no inline script
// or style, no plugins, never framed. Media from the camera is attached with srcObject, which
// needs no media-src.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; media-src 'self'; object-src 'none'; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'"

// consoleHandler serves the embedded web console: index.html at / and the assets it loads. The
// files are few and small, so they are held in memory with a content hash as ETag; browsers
// revalidate on every load (no-cache) and get 304 when nothing changed, so a new release is seen
// at once without renaming files. Fiber's filesystem middleware gives no ETag for embedded files
// (their modification time is zero), hence this handler. Anything not in the console falls
// through to 404.
func consoleHandler() fiber.Handler {
	files := map[string]consoleFile{}
	root := web.Files()
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		files["/"+p] = consoleFile{body: b, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil { // the files are compiled in: failing here is a broken build
		panic(err)
	}
	files["/"] = files["/index.html"]
	return func(c *fiber.Ctx) error {
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			return c.Next()
		}
		f, ok := files[c.Path()]
		if !ok || strings.HasPrefix(c.Path(), "/api/") {
			return c.Next()
		}
		c.Set(fiber.HeaderContentSecurityPolicy, consoleCSP)
		// The camera and microphone for this origin only (calls and the pre-call check); nothing else.
		c.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(), geolocation=(), payment=(), usb=()")
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, f.etag)
		c.Set(fiber.HeaderContentType, f.ctype)
		if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		return c.Send(f.body)
	}
}
