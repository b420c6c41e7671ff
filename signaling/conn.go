// Package signaling is Careway's media server: call rooms, their participants, the WebSocket
// signaling protocol (docs/signaling.md) and the pion selective forwarding unit behind it.
//
// It never sees HTTP. The socket handler checks the ticket, decides who the participant is and
// hands the socket to Hub.Join through the small Conn interface.
package signaling

// Conn is one signaling socket. Implementations adapt a WebSocket library to it.
//
// ReadMessage is called from one goroutine and WriteMessage from one (other) goroutine; Close
// may be called at any time, from any goroutine, more than once.
type Conn interface {
	// ReadMessage blocks until the next whole text message arrives. It returns an error once the
	// socket is closed or broken. Adapters should set a read limit well above
	// Limits.MaxMessageBytes (1 MiB, say) so a huge frame cannot exhaust memory; messages between
	// the two limits are refused by the hub with an error message.
	ReadMessage() ([]byte, error)
	// WriteMessage sends one text message.
	WriteMessage(data []byte) error
	// Close sends a close frame with code and reason (best effort) and closes the socket.
	Close(code int, reason string) error
}

// WebSocket close codes the hub uses.
const (
	CloseNormal        = 1000 // the call ended, or the participant left
	CloseGoingAway     = 1001 // the server is shutting down
	ClosePolicy        = 1008 // the client broke the protocol's rules (too slow, first message not join)
	CloseInternal      = 1011
	CloseRemoved       = 4001 // a clinician removed the participant
	CloseReplaced      = 4002 // the participant resumed on another socket
	CloseRoomFull      = 4003
	CloseResumeExpired = 4004 // the resume token is unknown or its grace period is over
)
