package signaling

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// The fast path's SRTP (RFC 3711 with the AEAD AES-GCM transforms of RFC 7714).
//
// pion/srtp's Context is general: it looks each SSRC up in a map, parses the header into a
// struct, copies the packet into a second buffer and allocates its nonces, which measured as
// about as much CPU per forwarded packet as AES-GCM itself (docs/benchmarks.md, media). The
// fast path needs much less: AES-GCM only (the profile the hub offers first, and every browser
// accepts), at most a handful of SSRCs per peer, decryption in place in the socket's buffer and
// encryption straight into the buffer that is sent. A peer that negotiated AES-CM with
// HMAC-SHA1 keeps pion/srtp's Context (pionRTPCipher below), so both profiles forward the same
// way. TestSRTPGCMAgreesWithPion checks both directions against pion/srtp.

// rtpCipher encrypts or decrypts one direction of a peer's RTP.
type rtpCipher interface {
	// open authenticates and decrypts an SRTP packet. It may decrypt in place (pkt is then
	// changed) or into scratch; the result is the plain RTP packet.
	open(pkt, scratch []byte) ([]byte, error)
	// seal encrypts a plain RTP packet into dst (whose capacity must hold it plus
	// srtpOverhead) and returns the SRTP packet.
	seal(dst, pkt []byte) ([]byte, error)
	// resume carries on ssrc's stream from the packet with rollover counter roc and sequence
	// number seq, which another context (pion's) handled before this one took the stream over:
	// the following packets' counters are reckoned from it.
	resume(ssrc, roc uint32, seq uint16)
}

// srtpOverhead is the most an SRTP packet adds to its RTP packet: GCM's 16-byte tag, or
// HMAC-SHA1-80's 10 bytes.
const srtpOverhead = 16

var (
	errSRTPShort   = errors.New("signaling: SRTP packet too short")
	errSRTPAuth    = errors.New("signaling: SRTP packet failed authentication")
	errSRTPReplay  = errors.New("signaling: SRTP packet replayed or too old")
	errSRTPSpent   = errors.New("signaling: SRTP stream used every packet index its key allows")
	errSRTPProfile = errors.New("signaling: SRTP profile not supported by the fast path")
)

// newRTPCipher makes the cipher of one direction from its master key and salt. Either way a
// direction that decrypts refuses replays within replayWindow packets; one that encrypts never
// looks at its window.
func newRTPCipher(profile srtp.ProtectionProfile, key, salt []byte) (rtpCipher, error) {
	switch profile {
	case srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAeadAes256Gcm:
		return newSRTPGCM(key, salt)
	case srtp.ProtectionProfileAes128CmHmacSha1_80:
		c, err := srtp.CreateContext(key, salt, profile, srtp.SRTPReplayProtection(replayWindow))
		if err != nil {
			return nil, err
		}
		return &pionRTPCipher{ctx: c}, nil
	}
	return nil, errSRTPProfile
}

// srtpGCM is one direction of SRTP with AES-GCM. It is not safe for concurrent use: the fast
// path holds the peer's inMu or outMu around it.
type srtpGCM struct {
	aead    cipher.AEAD
	salt    [12]byte
	iv      [12]byte    // the packet's nonce, kept here so that it does not escape to the heap
	streams srtpStreams // one per SSRC seen
}

// srtpStream is what one SSRC's packet indexes need: the rollover counter and highest sequence
// number (RFC 3711 section 3.3.1), and for a decrypting direction the replay window.
type srtpStream struct {
	ssrc    uint32
	started bool // the counter is known: a packet was accepted or sent, or the stream resumed
	settled bool // decrypting: a packet has authenticated with this context
	roc     uint32
	top     uint16
	max     uint64                    // highest index accepted
	seen    [replayWindow / 64]uint64 // accepted indexes within replayWindow of max, by index mod replayWindow
	stopped bool                      // the index space is spent: the key may encrypt no more
}

// The labels of RFC 3711 section 4.3.1 for the SRTP session key and salt.
const (
	labelSRTPKey  = 0x00
	labelSRTPSalt = 0x02
)

func newSRTPGCM(masterKey, masterSalt []byte) (*srtpGCM, error) {
	if len(masterSalt) != 12 || (len(masterKey) != 16 && len(masterKey) != 32) {
		return nil, errSRTPProfile
	}
	key, err := srtpKDF(masterKey, masterSalt, labelSRTPKey, len(masterKey))
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	salt, err := srtpKDF(masterKey, masterSalt, labelSRTPSalt, 12)
	if err != nil {
		return nil, err
	}
	g := &srtpGCM{aead: aead}
	copy(g.salt[:], salt)
	return g, nil
}

// srtpKDF is the AES-CM key derivation of RFC 3711 section 4.3.3 with a key derivation rate of
// 0 (the only rate DTLS-SRTP uses): the master salt, with the label in its eighth byte, is the
// counter block, and its last two bytes count the blocks of output.
func srtpKDF(masterKey, masterSalt []byte, label byte, n int) ([]byte, error) {
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	var in [16]byte
	copy(in[:], masterSalt)
	in[7] ^= label
	out := make([]byte, (n+15)/16*16)
	for i := 0; i*16 < n; i++ {
		binary.BigEndian.PutUint16(in[14:], uint16(i))
		block.Encrypt(out[i*16:], in[:])
	}
	return out[:n], nil
}

// rtpHeaderLen is the length of pkt's RTP header with its CSRCs and extension, or 0 if pkt is
// too short to hold them.
func rtpHeaderLen(pkt []byte) int {
	if len(pkt) < 12 {
		return 0
	}
	n := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // extension: 4 bytes of profile and length, then length words
		if len(pkt) < n+4 {
			return 0
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	if len(pkt) < n {
		return 0
	}
	return n
}

// srtpStreams is a direction's streams, looked up in order (a peer has a few SSRCs).
type srtpStreams []srtpStream

// get finds ssrc's state, adding it on first sight.
func (ss *srtpStreams) get(ssrc uint32) *srtpStream {
	for i := range *ss {
		if (*ss)[i].ssrc == ssrc {
			return &(*ss)[i]
		}
	}
	*ss = append(*ss, srtpStream{ssrc: ssrc})
	return &(*ss)[len(*ss)-1]
}

// nonce is RFC 7714 section 8.1's IV: SSRC, rollover counter and sequence number, XORed with
// the session salt.
func (g *srtpGCM) nonce(ssrc, roc uint32, seq uint16) []byte {
	iv := &g.iv
	*iv = [12]byte{}
	binary.BigEndian.PutUint32(iv[2:], ssrc)
	binary.BigEndian.PutUint32(iv[6:], roc)
	binary.BigEndian.PutUint16(iv[10:], seq)
	for i := range iv {
		iv[i] ^= g.salt[i]
	}
	return iv[:]
}

// open decrypts pkt in place (or into scratch while its stream is new: openFirst).
func (g *srtpGCM) open(pkt, scratch []byte) ([]byte, error) {
	h := rtpHeaderLen(pkt)
	if h == 0 || len(pkt) < h+g.aead.Overhead() {
		return nil, errSRTPShort
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	seq := binary.BigEndian.Uint16(pkt[2:])
	s := g.streams.get(ssrc)
	if !s.settled {
		return g.openFirst(s, pkt, scratch, h, seq)
	}
	roc := s.guess(seq)
	idx := uint64(roc)<<16 | uint64(seq)
	if s.replayed(idx) {
		return nil, errSRTPReplay
	}
	plain, err := g.aead.Open(pkt[h:h], g.nonce(ssrc, roc, seq), pkt[h:], pkt[:h])
	if err != nil {
		return nil, errSRTPAuth
	}
	s.accept(roc, seq)
	s.mark(idx)
	return pkt[:h+len(plain)], nil
}

// openFirst decrypts a packet of a stream none of whose packets has authenticated here yet,
// trying each counter firstCounters allows. It decrypts into scratch, since a failed attempt in
// place would leave pkt zeroed for the next.
func (g *srtpGCM) openFirst(s *srtpStream, pkt, scratch []byte, h int, seq uint16) ([]byte, error) {
	err := errSRTPAuth
	for _, roc := range s.firstCounters(seq) {
		idx := uint64(roc)<<16 | uint64(seq)
		if s.replayed(idx) {
			err = errSRTPReplay
			continue
		}
		plain, openErr := g.aead.Open(append(scratch[:0], pkt[:h]...), g.nonce(s.ssrc, roc, seq), pkt[h:], pkt[:h])
		if openErr != nil {
			continue
		}
		s.settled = true
		s.accept(roc, seq)
		s.mark(idx)
		return plain, nil
	}
	return nil, err
}

// resume sets ssrc's counter and highest sequence number to another context's; the packet it
// names counts as received.
func (g *srtpGCM) resume(ssrc, roc uint32, seq uint16) {
	s := g.streams.get(ssrc)
	*s = srtpStream{ssrc: ssrc, started: true, roc: roc, top: seq, max: uint64(roc)<<16 | uint64(seq)}
	s.mark(s.max)
}

// seal encrypts pkt into dst.
func (g *srtpGCM) seal(dst, pkt []byte) ([]byte, error) {
	h := rtpHeaderLen(pkt)
	if h == 0 {
		return nil, errSRTPShort
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	seq := binary.BigEndian.Uint16(pkt[2:])
	s := g.streams.get(ssrc)
	if s.stopped {
		return nil, errSRTPSpent
	}
	roc := s.guess(seq)
	if roc == ^uint32(0) && seq == 0xffff {
		// RFC 3711 section 9.2: 2^48 packets under one key is the end of the stream.
		s.stopped = true
	}
	s.accept(roc, seq)
	dst = append(dst[:0], pkt[:h]...)
	return g.aead.Seal(dst, g.nonce(ssrc, roc, seq), pkt[h:], pkt[:h]), nil
}

// guess is the rollover counter of the packet with sequence number seq (RFC 3711 appendix A):
// the one of the highest sequence number so far, or the one before or after it when seq is
// more than half the sequence space away. A stream's first packet has counter 0 (DTLS-SRTP
// starts every stream there). A guess below 0 is taken as 0: the packet then fails to
// authenticate and is dropped, the safe side.
func (s *srtpStream) guess(seq uint16) uint32 {
	if !s.started {
		return s.roc
	}
	switch {
	case s.top < 1<<15:
		if int(seq)-int(s.top) > 1<<15 && s.roc > 0 {
			return s.roc - 1
		}
	case int(s.top)-(1<<15) > int(seq):
		return s.roc + 1
	}
	return s.roc
}

// firstCounters are the counters a stream's packet may have before one has authenticated:
// the guess, or the next. The packets of a track that pion decrypted before the fast path took
// it over are a few (at set-up) or were counted (resume), but they can have crossed a wrap of
// the sequence number that this context has not seen; the publisher's counter is then one
// ahead, and without the second try every packet of the track would be dropped. A wrong
// counter cannot authenticate, so trying two admits nothing that the right one would not.
func (s *srtpStream) firstCounters(seq uint16) [2]uint32 {
	roc := s.guess(seq)
	return [2]uint32{roc, roc + 1}
}

// accept moves the highest sequence number (and counter) on after a packet with counter roc and
// sequence number seq authenticated or was sent.
func (s *srtpStream) accept(roc uint32, seq uint16) {
	switch {
	case !s.started:
		s.started, s.roc, s.top = true, roc, seq
	case roc == s.roc && seq > s.top:
		s.top = seq
	case roc == s.roc+1:
		s.roc, s.top = roc, seq
	}
}

// replayed reports whether index idx was accepted already or is too old to tell.
func (s *srtpStream) replayed(idx uint64) bool {
	if !s.started || idx > s.max { // nothing accepted yet, or newer than all
		return false
	}
	if s.max-idx >= replayWindow {
		return true
	}
	b := idx % replayWindow
	return s.seen[b/64]&(1<<(b%64)) != 0
}

// mark records index idx as accepted.
func (s *srtpStream) mark(idx uint64) {
	if idx > s.max {
		if idx-s.max >= replayWindow {
			s.seen = [replayWindow / 64]uint64{}
		} else {
			for i := s.max + 1; i < idx; i++ {
				b := i % replayWindow
				s.seen[b/64] &^= 1 << (b % 64)
			}
		}
		s.max = idx
	}
	b := idx % replayWindow
	s.seen[b/64] |= 1 << (b % 64)
}

// pionRTPCipher is pion/srtp's Context for the profiles srtpGCM does not do. Its streams keep
// srtpGCM's bookkeeping only until a stream's first packet has authenticated (decrypting) or
// its resumed counter is handed to pion (encrypting); pion's Context keeps the rest.
type pionRTPCipher struct {
	ctx     *srtp.Context
	hdr     rtp.Header
	streams srtpStreams // settled: pion's Context has this stream's counter right
}

func (p *pionRTPCipher) open(pkt, scratch []byte) ([]byte, error) {
	if len(pkt) < 12 {
		return nil, errSRTPShort
	}
	s := p.streams.get(binary.BigEndian.Uint32(pkt[8:]))
	if s.settled {
		return p.ctx.DecryptRTP(scratch, pkt, &p.hdr)
	}
	var err error
	for _, roc := range s.firstCounters(binary.BigEndian.Uint16(pkt[2:])) {
		p.ctx.SetROC(s.ssrc, roc) // pion decrypts into scratch: a failed try leaves pkt as it was
		var plain []byte
		if plain, err = p.ctx.DecryptRTP(scratch, pkt, &p.hdr); err == nil {
			s.settled = true
			return plain, nil
		}
	}
	return nil, err
}

func (p *pionRTPCipher) seal(dst, pkt []byte) ([]byte, error) {
	if len(pkt) < 12 {
		return nil, errSRTPShort
	}
	if s := p.streams.get(binary.BigEndian.Uint32(pkt[8:])); !s.settled {
		if s.started { // resumed: pion's Context starts the stream at its counter
			p.ctx.SetROC(s.ssrc, s.guess(binary.BigEndian.Uint16(pkt[2:])))
		}
		s.settled = true
	}
	return p.ctx.EncryptRTP(dst[:0], pkt, &p.hdr)
}

// resume keeps the counter and sequence number for the stream's next packet.
func (p *pionRTPCipher) resume(ssrc, roc uint32, seq uint16) {
	*p.streams.get(ssrc) = srtpStream{ssrc: ssrc, started: true, roc: roc, top: seq}
}
