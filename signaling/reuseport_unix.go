//go:build unix

package signaling

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// canSharePort: several sockets may bind the same UDP port (SO_REUSEPORT), and the kernel
// spreads the peers over them by address.
const canSharePort = true

// sharePort sets SO_REUSEPORT on a socket before it binds. Only sockets of the same user can
// join the group.
func sharePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}
