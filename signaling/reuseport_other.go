//go:build !unix

package signaling

import "syscall"

// canSharePort: this system gets one socket (and one reader) per address of the UDP port.
const canSharePort = false

func sharePort(_, _ string, _ syscall.RawConn) error { return nil }
