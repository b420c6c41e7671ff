// Package sigtest gives tests a signaling client: an in-memory socket (Pipe) and a pion peer
// (Client) that joins a call, answers the server's offers, trickles candidates, publishes
// generated audio and video and counts the RTP it receives.
package sigtest

import (
	"errors"
	"fmt"
	"sync"
)

// CloseError is what ReadMessage returns once a pipe is closed.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("socket closed: %d %s", e.Code, e.Reason) }

type pipeState struct {
	once   sync.Once
	closed chan struct{}
	code   int
	reason string
}

// PipeConn is one end of an in-memory socket; it implements signaling.Conn.
type PipeConn struct {
	in  chan []byte
	out chan []byte
	st  *pipeState
}

// Pipe returns the two ends of an in-memory socket: give server to Hub.Join, client to New.
// Each direction buffers 1024 messages; past that the writer blocks, like a socket whose reader
// has stopped reading.
func Pipe() (server, client *PipeConn) {
	a, b := make(chan []byte, 1024), make(chan []byte, 1024)
	st := &pipeState{closed: make(chan struct{})}
	return &PipeConn{in: a, out: b, st: st}, &PipeConn{in: b, out: a, st: st}
}

// ReadMessage returns the next message; once the pipe is closed and drained, a *CloseError.
func (c *PipeConn) ReadMessage() ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	default:
	}
	select {
	case m := <-c.in:
		return m, nil
	case <-c.st.closed:
		select {
		case m := <-c.in:
			return m, nil
		default:
			return nil, &CloseError{Code: c.st.code, Reason: c.st.reason}
		}
	}
}

// WriteMessage sends a copy of data.
func (c *PipeConn) WriteMessage(data []byte) error {
	b := append([]byte(nil), data...)
	select {
	case <-c.st.closed:
		return errors.New("sigtest: write on closed pipe")
	default:
	}
	select {
	case c.out <- b:
		return nil
	case <-c.st.closed:
		return errors.New("sigtest: write on closed pipe")
	}
}

// Close closes both ends; the first code wins.
func (c *PipeConn) Close(code int, reason string) error {
	c.st.once.Do(func() {
		c.st.code, c.st.reason = code, reason
		close(c.st.closed)
	})
	return nil
}

// Closed returns a channel closed when the pipe closes.
func (c *PipeConn) Closed() <-chan struct{} { return c.st.closed }

// CloseCode is the code the pipe was closed with (0 while open).
func (c *PipeConn) CloseCode() int {
	select {
	case <-c.st.closed:
		return c.st.code
	default:
		return 0
	}
}
