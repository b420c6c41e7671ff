package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on DataDir/careway.lock, so that a second Careway process
// cannot open the same files. Two processes would each run their own FerretDB on one SQLite
// database, and the store's in-process write lock (which makes FerretDB's updates atomic) would
// no longer cover every writer. The kernel drops the lock if the process dies, so a crash never
// leaves the directory locked.
func lockDataDir(dataDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "careway.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("embedded: another Careway process is using the data directory %s", dataDir)
		}
		return nil, fmt.Errorf("embedded: lock data directory: %w", err)
	}
	return f, nil
}
