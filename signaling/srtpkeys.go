package signaling

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"unsafe"

	"github.com/pion/dtls/v2"
	"github.com/pion/srtp/v2"
	"github.com/pion/webrtc/v3"
)

// srtpKeys returns the SRTP profile and master keys that pion derived from pc's DTLS handshake,
// so that the fast path can encrypt and decrypt RTP with its own contexts (fastpath.go).
//
// pion/webrtc v3 keeps the DTLS connection in an unexported field of DTLSTransport and offers
// no accessor, so this reads that one field by reflection. The module version is pinned in
// go.mod; if a new version renames or retypes the field, this returns an error, the peer stays
// on pion's own media path (slower, still correct), and TestFastPathForwards fails so that the
// upgrade cannot go unnoticed.
func srtpKeys(pc *webrtc.PeerConnection) (srtp.ProtectionProfile, srtp.SessionKeys, error) {
	dt := pc.SCTP().Transport()
	// State takes the transport's lock, which Start held while it stored the connection: reading
	// the field after seeing Connected is ordered after that store.
	if dt == nil || dt.State() != webrtc.DTLSTransportStateConnected {
		return 0, srtp.SessionKeys{}, errors.New("signaling: DTLS is not connected")
	}
	field := reflect.ValueOf(dt).Elem().FieldByName("conn")
	if !field.IsValid() || field.Type() != reflect.TypeOf((*dtls.Conn)(nil)) {
		return 0, srtp.SessionKeys{}, errors.New("signaling: pion's DTLSTransport has no conn field of type *dtls.Conn")
	}
	conn := *(**dtls.Conn)(unsafe.Pointer(field.UnsafeAddr()))
	if conn == nil {
		return 0, srtp.SessionKeys{}, errors.New("signaling: DTLS connection not set")
	}
	dp, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return 0, srtp.SessionKeys{}, errors.New("signaling: no SRTP profile was negotiated")
	}
	var profile srtp.ProtectionProfile
	switch dp {
	case dtls.SRTP_AEAD_AES_128_GCM:
		profile = srtp.ProtectionProfileAeadAes128Gcm
	case dtls.SRTP_AEAD_AES_256_GCM:
		profile = srtp.ProtectionProfileAeadAes256Gcm
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		profile = srtp.ProtectionProfileAes128CmHmacSha1_80
	default:
		return 0, srtp.SessionKeys{}, fmt.Errorf("signaling: SRTP profile %v is not forwarded by the fast path", dp)
	}
	rd := pc.RemoteDescription()
	if rd == nil {
		return 0, srtp.SessionKeys{}, errors.New("signaling: no remote description")
	}
	state := conn.ConnectionState()
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, dtlsIsClient(rd.SDP)); err != nil {
		return 0, srtp.SessionKeys{}, err
	}
	return profile, cfg.Keys, nil
}

var setupAttr = regexp.MustCompile(`(?m)^a=setup:(\w+)`)

// dtlsIsClient reports whether the server took the DTLS client role, from the answer's
// a=setup: the server always offers actpass, so an answer of "passive" makes the server the
// client and anything else ("active") the server, as pion decides it.
func dtlsIsClient(answer string) bool {
	m := setupAttr.FindStringSubmatch(answer)
	return m != nil && m[1] == "passive"
}
