package signaling

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// gcmProfiles are the two AES-GCM profiles with their master key lengths.
var gcmProfiles = []struct {
	profile srtp.ProtectionProfile
	keyLen  int
}{
	{srtp.ProtectionProfileAeadAes128Gcm, 16},
	{srtp.ProtectionProfileAeadAes256Gcm, 32},
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// testRTP builds a plain RTP packet; variant adds CSRCs, a header extension or both, so that
// the header length is computed every way RTP allows.
func testRTP(t testing.TB, ssrc uint32, seq uint16, variant int, payload []byte) []byte {
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: ssrc, Marker: seq%5 == 0}
	if variant&1 != 0 {
		h.CSRC = []uint32{0x01020304, 0x05060708}
	}
	if variant&2 != 0 {
		h.Extension = true
		h.ExtensionProfile = 0xBEDE
		if err := h.SetExtension(1, []byte{0xAA, 0xBB}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSRTPGCMAgreesWithPion: what pion/srtp encrypts the fast path decrypts, and the other way
// round, for both key lengths, every header shape, across the sequence number's wrap (where the
// rollover counter moves) and with packets out of order.
func TestSRTPGCMAgreesWithPion(t *testing.T) {
	// Sequence numbers from just before the wrap to after it, with two pairs swapped.
	var seqs []uint16
	for s := 65500; s < 65536+60; s++ {
		seqs = append(seqs, uint16(s))
	}
	seqs[10], seqs[11] = seqs[11], seqs[10]
	seqs[36], seqs[40] = seqs[40], seqs[36] // 65536 arrives after 65540
	for _, gp := range gcmProfiles {
		t.Run(fmt.Sprint(gp.keyLen*8), func(t *testing.T) {
			key, salt := randomBytes(t, gp.keyLen), randomBytes(t, 12)
			pionSide, err := srtp.CreateContext(key, salt, gp.profile)
			if err != nil {
				t.Fatal(err)
			}
			pionBack, err := srtp.CreateContext(key, salt, gp.profile)
			if err != nil {
				t.Fatal(err)
			}
			in, err := newRTPCipher(gp.profile, key, salt)
			if err != nil {
				t.Fatal(err)
			}
			out, err := newRTPCipher(gp.profile, key, salt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := in.(*srtpGCM); !ok {
				t.Fatalf("profile %v got %T, want the fast path's own GCM", gp.profile, in)
			}
			sealed := make([]byte, 0, 1500)
			for i, seq := range seqs {
				plain := testRTP(t, 0xCAFE0001, seq, i%4, randomBytes(t, 50+i*7))
				enc, err := pionSide.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := in.open(append([]byte(nil), enc...), nil)
				if err != nil {
					t.Fatalf("seq %d: decrypting pion's packet: %v", seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("seq %d: decrypted packet differs from what pion encrypted", seq)
				}
				ours, err := out.seal(sealed, plain)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ours, enc) {
					t.Fatalf("seq %d: own encryption differs from pion's", seq)
				}
				back, err := pionBack.DecryptRTP(nil, ours, nil)
				if err != nil {
					t.Fatalf("seq %d: pion decrypting own packet: %v", seq, err)
				}
				if !bytes.Equal(back, plain) {
					t.Fatalf("seq %d: pion decrypted something else", seq)
				}
			}
		})
	}
}

// TestSRTPGCMRefusesReplaysForgeriesAndShortPackets: a packet accepted once is refused the
// second time, as is one older than the window; a forged packet fails and changes nothing, so
// the genuine one still decrypts; truncated packets and a header extension running past the
// end are errors, not panics.
func TestSRTPGCMRefusesReplaysForgeriesAndShortPackets(t *testing.T) {
	key, salt := randomBytes(t, 16), randomBytes(t, 12)
	out, err := newSRTPGCM(key, salt)
	if err != nil {
		t.Fatal(err)
	}
	in, err := newSRTPGCM(key, salt)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(seq uint16) []byte {
		b, err := out.seal(make([]byte, 0, 1500), testRTP(t, 7, seq, 0, []byte("payload of the packet")))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	open := func(b []byte) error {
		_, err := in.open(append([]byte(nil), b...), nil)
		return err
	}
	var pkts [][]byte
	for seq := uint16(1000); seq < 1000+replayWindow+10; seq++ {
		pkts = append(pkts, seal(seq))
	}
	if err := open(pkts[5]); err != nil {
		t.Fatal(err)
	}
	if err := open(pkts[5]); !errors.Is(err, errSRTPReplay) {
		t.Fatalf("same packet twice: %v, want a replay", err)
	}
	if err := open(pkts[3]); err != nil {
		t.Fatalf("an earlier packet arriving late, within the window: %v", err)
	}
	forged := append([]byte(nil), pkts[6]...)
	forged[len(forged)-20] ^= 1
	if err := open(forged); !errors.Is(err, errSRTPAuth) {
		t.Fatalf("forged packet: %v, want an authentication failure", err)
	}
	if err := open(pkts[6]); err != nil {
		t.Fatalf("the genuine packet after a forgery of it: %v", err)
	}
	if err := open(pkts[len(pkts)-1]); err != nil {
		t.Fatal(err)
	}
	if err := open(pkts[7]); !errors.Is(err, errSRTPReplay) {
		t.Fatalf("a packet older than the window: %v, want it refused", err)
	}
	if err := open(pkts[len(pkts)-replayWindow+1]); err != nil {
		t.Fatalf("the oldest packet still inside the window: %v", err)
	}

	for _, b := range [][]byte{
		nil,
		pkts[8][:11],
		pkts[8][:12+15], // a header and less than a tag
	} {
		if err := open(b); !errors.Is(err, errSRTPShort) {
			t.Errorf("%d-byte packet: %v, want too short", len(b), err)
		}
	}
	ext := testRTP(t, 7, 9, 2, nil)
	ext[15] = 200 // the extension claims 200 words
	if err := open(ext); !errors.Is(err, errSRTPShort) {
		t.Errorf("extension past the end: %v, want too short", err)
	}
	if _, err := out.seal(nil, ext); !errors.Is(err, errSRTPShort) {
		t.Errorf("sealing a packet whose extension runs past the end: %v", err)
	}
}

// TestSRTPStreamTakenOverMidway: the fast path takes a stream over from pion, which has
// decrypted (or encrypted) its first packets. A wrap of the sequence number among those packets
// is found by trying the next counter; a stream further on is resumed from the counter and
// sequence number pion's packets reached; either way, for every profile, every packet after
// the takeover still decrypts, and a counter two wraps off is refused rather than guessed.
func TestSRTPStreamTakenOverMidway(t *testing.T) {
	profiles := []struct {
		profile         srtp.ProtectionProfile
		keyLen, saltLen int
	}{
		{srtp.ProtectionProfileAeadAes128Gcm, 16, 12},
		{srtp.ProtectionProfileAeadAes256Gcm, 32, 12},
		{srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14},
	}
	const ssrc = 0xCAFE0002
	for _, pr := range profiles {
		t.Run(pr.profile.String(), func(t *testing.T) {
			key, salt := randomBytes(t, pr.keyLen), randomBytes(t, pr.saltLen)
			pionCtx := func(roc uint32) *srtp.Context {
				c, err := srtp.CreateContext(key, salt, pr.profile)
				if err != nil {
					t.Fatal(err)
				}
				if roc > 0 {
					c.SetROC(ssrc, roc)
				}
				return c
			}
			ours := func() rtpCipher {
				c, err := newRTPCipher(pr.profile, key, salt)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			// The publisher's stream: ext is counter<<16 | sequence number.
			publisher := pionCtx(0)
			sealAt := func(ext int) []byte {
				b, err := publisher.EncryptRTP(nil, testRTP(t, ssrc, uint16(ext), 0, []byte(fmt.Sprint("packet ", ext))), nil)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			opens := func(in rtpCipher, ext int, b []byte) error {
				got, err := in.open(append([]byte(nil), b...), make([]byte, 1500))
				if err == nil && !bytes.Equal(got, testRTP(t, ssrc, uint16(ext), 0, []byte(fmt.Sprint("packet ", ext)))) {
					return fmt.Errorf("packet %#x decrypted to something else", ext)
				}
				return err
			}

			// pion took 65530..65535 and 0..2; the fast path starts at 3, one wrap on.
			for ext := 65530; ext < 65536+3; ext++ {
				sealAt(ext)
			}
			in := ours()
			for ext := 65536 + 3; ext < 65536+40; ext++ {
				if err := opens(in, ext, sealAt(ext)); err != nil {
					t.Fatalf("packet %#x after a wrap the fast path did not see: %v", ext, err)
				}
			}

			// Two wraps on: a fresh context refuses the packet; one resumed from pion's last
			// packet (one wrap back, high in the sequence space) takes it and those after.
			publisher = pionCtx(2)
			if err := opens(ours(), 2<<16|7, sealAt(2<<16|7)); err == nil {
				t.Fatal("a fresh context took a packet two wraps on")
			}
			in = ours()
			in.resume(ssrc, 1, 65533)
			for ext := 2<<16 | 8; ext < 2<<16|40; ext++ {
				if err := opens(in, ext, sealAt(ext)); err != nil {
					t.Fatalf("packet %#x after resuming at 0x1fffd: %v", ext, err)
				}
			}

			// Encrypting: resumed at counter 3, sequence 65534, the fast path seals what a
			// subscriber whose own context is at counter 3 decrypts, across the next wrap.
			out := ours()
			out.resume(ssrc, 3, 65534)
			subscriber := pionCtx(3)
			for ext := 3<<16 | 65535; ext < 4<<16|20; ext++ {
				plain := testRTP(t, ssrc, uint16(ext), 0, []byte("to the subscriber"))
				sealed, err := out.seal(make([]byte, 0, 1500), plain)
				if err != nil {
					t.Fatal(err)
				}
				got, err := subscriber.DecryptRTP(nil, sealed, nil)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("subscriber at counter 3 decrypting packet %#x: %v", ext, err)
				}
			}
		})
	}
}

// TestSRTPRolloverGuess: RFC 3711 appendix A's estimate at each edge of the half-space rule.
func TestSRTPRolloverGuess(t *testing.T) {
	for _, c := range []struct {
		roc      uint32
		top, seq uint16
		want     uint32
	}{
		{5, 100, 101, 5},
		{5, 100, 100 + 32768, 5},     // exactly half the space ahead: same cycle
		{5, 100, 100 + 32769, 4},     // more than half ahead of a low top: the cycle before
		{0, 100, 100 + 32769, 0},     // ... but never below 0
		{5, 40000, 40000 - 32768, 5}, // exactly half behind a high top: same cycle
		{5, 40000, 40000 - 32769, 6}, // more than half behind: the next cycle
		{5, 65535, 0, 6},
		{5, 32767, 0, 5},
		{5, 32768, 0, 5},
	} {
		s := srtpStream{started: true, roc: c.roc, top: c.top}
		if got := s.guess(c.seq); got != c.want {
			t.Errorf("roc %d top %d seq %d: guessed %d, want %d", c.roc, c.top, c.seq, got, c.want)
		}
	}
}

// TestSRTPGCMDoesNotAllocate: sealing and opening a packet allocates nothing once the stream
// is known.
func TestSRTPGCMDoesNotAllocate(t *testing.T) {
	key, salt := randomBytes(t, 16), randomBytes(t, 12)
	out, _ := newSRTPGCM(key, salt)
	in, _ := newSRTPGCM(key, salt)
	plain := testRTP(t, 9, 1, 3, make([]byte, 1100))
	sealed := make([]byte, 0, 1500)
	seq := uint16(1)
	if allocs := testing.AllocsPerRun(500, func() {
		seq++
		plain[2], plain[3] = byte(seq>>8), byte(seq)
		b, err := out.seal(sealed, plain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.open(b, nil); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("%v allocations per packet sealed and opened", allocs)
	}
}

func BenchmarkSRTPForward(b *testing.B) {
	key, salt := randomBytes(b, 16), randomBytes(b, 12)
	plain := testRTP(b, 9, 1, 0, make([]byte, 1188))
	for _, impl := range []string{"pion", "own"} {
		b.Run(impl, func(b *testing.B) {
			var enc, dec rtpCipher
			if impl == "own" {
				enc, _ = newSRTPGCM(key, salt)
				dec, _ = newSRTPGCM(key, salt)
			} else {
				e, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
				d, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm, srtp.SRTPReplayProtection(replayWindow))
				enc, dec = &pionRTPCipher{ctx: e}, &pionRTPCipher{ctx: d}
			}
			sealed := make([]byte, 0, 1500)
			resealed := make([]byte, 0, 1500)
			scratch := make([]byte, 1500)
			b.SetBytes(int64(len(plain)))
			for i := 0; i < b.N; i++ {
				seq := uint16(i)
				plain[2], plain[3] = byte(seq>>8), byte(seq)
				s, _ := enc.seal(sealed, plain)
				p, err := dec.open(s, scratch)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := enc.seal(resealed, p); err != nil { // what forwarding does: open, then seal again
					b.Fatal(err)
				}
			}
		})
	}
}
