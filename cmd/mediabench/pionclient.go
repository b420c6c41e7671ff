package main

import (
	"errors"
	"io"
	"net"
	"sync/atomic"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

// newClientAPI builds the pion API every simulated participant uses: VP8 and Opus, host
// candidates on 127.0.0.1 only, and no interceptors (no NACK, reports or congestion control), so
// that the load generator spends as little of the shared CPU as a pion client can.
func newClientAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	err := errors.Join(
		me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			PayloadType:        videoPT,
		}, webrtc.RTPCodecTypeVideo),
		me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			PayloadType:        audioPT,
		}, webrtc.RTPCodecTypeAudio),
	)
	if err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)), nil
}

// pionClient is one simulated participant: a PeerConnection publishing a video and an audio
// track and counting what it receives on every remote track.
type pionClient struct {
	pc           *webrtc.PeerConnection
	video, audio *webrtc.TrackLocalStaticRTP
	tally        *tally
	tracks       [2]atomic.Int32 // remote audio and video tracks pion announced (OnTrack)
}

// newPionClient creates the PeerConnection and its two local tracks; the caller negotiates.
func newPionClient(api *webrtc.API, clk clock, win *window) (*pionClient, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &pionClient{pc: pc, tally: newTally()}
	c.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "bench")
	if err == nil {
		c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "bench")
	}
	for _, t := range []*webrtc.TrackLocalStaticRTP{c.video, c.audio} {
		if err != nil {
			break
		}
		var s *webrtc.RTPSender
		if s, err = pc.AddTrack(t); err == nil {
			go drainRTCP(s)
		}
	}
	if err != nil {
		pc.Close()
		return nil, err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			c.tracks[1].Add(1)
		} else {
			c.tracks[0].Add(1)
		}
		buf := make([]byte, 1500)
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			if p := rtpPayload(buf[:n]); p != nil {
				c.tally.received(win, p, clk.now())
			}
		}
	})
	return c, nil
}

// drainRTCP reads (and drops) the RTCP the server sends about a published track.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

func (c *pionClient) send(kind byte, pkt []byte) error {
	t := c.video
	if kind == kindAudio {
		t = c.audio
	}
	_, err := t.Write(pkt)
	if errors.Is(err, io.ErrClosedPipe) {
		return nil // not bound yet: nobody to send to
	}
	return err
}

func (c *pionClient) close() { _ = c.pc.Close() }

// connectDirect negotiates a and b with each other in-process (no server): the baseline for the
// delay the pion clients themselves add.
func connectDirect(a, b *pionClient) error {
	offer, err := a.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := setLocalComplete(a.pc, offer); err != nil {
		return err
	}
	if err := b.pc.SetRemoteDescription(*a.pc.LocalDescription()); err != nil {
		return err
	}
	answer, err := b.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := setLocalComplete(b.pc, answer); err != nil {
		return err
	}
	return a.pc.SetRemoteDescription(*b.pc.LocalDescription())
}

// setLocalComplete sets the local description and waits for ICE gathering to finish, so the
// description carries every candidate.
func setLocalComplete(pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		return err
	}
	<-done
	return nil
}
