package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// socketName is the socket's file name. The driver treats a host as a Unix socket only when it
// ends in "sock".
const socketName = "mongod.sock"

// maxSocketPath is the longest socket path used. The kernel limit (sun_path) is 108 bytes on
// Linux and 104 on macOS and the BSDs, counting the final NUL.
const maxSocketPath = 100

// safeSocketPath matches the paths that survive the driver's handling of a host: it lowercases
// the address, unescapes it as a query string (so "+" would become a space) and splits it at
// ":" looking for a port.
var safeSocketPath = regexp.MustCompile(`^[a-z0-9/._-]+$`)

func usableSocketPath(p string) bool {
	return len(p) <= maxSocketPath && safeSocketPath.MatchString(p)
}

// socketPath chooses where the socket goes: inside dataDir when the path is usable, otherwise
// in a fresh private directory under the system temporary directory (or /tmp), whose path it
// also returns so that Close can remove it.
func socketPath(dataDir string) (socket, tmpDir string, err error) {
	if p := filepath.Join(dataDir, socketName); usableSocketPath(p) {
		return p, "", nil
	}
	base := os.TempDir()
	if !usableSocketPath(filepath.Join(base, "careway-0000000000", socketName)) {
		base = "/tmp"
	}
	// MkdirTemp creates the directory with mode 0700 and a name of digits.
	tmpDir, err = os.MkdirTemp(base, "careway-")
	if err != nil {
		return "", "", fmt.Errorf("embedded: socket directory: %w", err)
	}
	socket = filepath.Join(tmpDir, socketName)
	if !usableSocketPath(socket) {
		_ = os.RemoveAll(tmpDir)
		return "", "", fmt.Errorf("embedded: no usable Unix socket path (tried %q)", socket)
	}
	return socket, tmpDir, nil
}

// makePrivateDir creates dir with mode 0700, or removes group and other permissions from an
// existing one: the socket inside gives unauthenticated access to every record.
func makePrivateDir(dir string, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("embedded: create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("embedded: %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		logger.Warn("tightening permissions of the embedded database directory",
			"dir", dir, "was", fmt.Sprintf("%#o", perm), "now", "0700")
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("embedded: chmod %s: %w", dir, err)
		}
	}
	return nil
}

// removeStaleSocket removes a socket file left behind by a process that did not stop cleanly,
// but refuses to start a second server on a socket that still answers.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("embedded: %s exists and is not a socket", path)
	}
	if conn, err := net.DialTimeout("unix", path, 500*time.Millisecond); err == nil {
		_ = conn.Close()
		return fmt.Errorf("embedded: another server is already listening on %s", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("embedded: remove stale socket: %w", err)
	}
	return nil
}
