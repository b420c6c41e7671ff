package signaling

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pion/webrtc/v3"
)

// The participant's media: its peer connection, the tracks it publishes, the tracks sent to it
// and the offers that keep them in step. Everything here runs on the participant's goroutine.

// startMedia makes the peer connection once the participant is admitted (a waiting participant
// has none, so it can neither receive nor send media) and makes the first offer.
func (p *participant) startMedia() {
	if p.peer() != nil {
		return
	}
	h := p.room.hub
	pc, api, err := h.media.newPeerConnection()
	if err != nil {
		p.log.Error("peer connection", "err", err)
		p.sendError(ErrInternal, "media could not start", "")
		return
	}
	// pion callbacks only post events: they never block.
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.post(event{kind: evCandidate, cand: c})
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { p.post(event{kind: evConnState, state: s}) })
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		p.post(event{kind: evTrack, remote: t, receiver: r})
	})
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) {
		p.post(event{kind: evPairChange})
	})
	p.rtcpSSRC = rand.Uint32()
	for _, k := range []webrtc.RTPCodecType{kindAudio, kindVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			p.log.Error("transceiver", "err", err)
			_ = pc.Close()
			p.sendError(ErrInternal, "media could not start", "")
			return
		}
	}
	p.api = api
	p.pcMu.Lock()
	p.pc = pc
	p.pcMu.Unlock()
	p.syncSubs(true)
}

// publish starts forwarding a track the participant sends.
func (p *participant) publish(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	t := newPubTrack(p, remote, p.room.hub.p.Limits.KeyframeEvery)
	t.table = p.room.hub.media.fast
	p.room.mu.Lock()
	p.pubs = append(p.pubs, t)
	p.room.resyncLocked()
	p.room.mu.Unlock()
	if fp := p.fast.Load(); fp != nil {
		fp.addPub(t)
	}
	p.media.Add(2)
	go func() {
		defer p.media.Done()
		t.readRTCP(receiver)
	}()
	go t.run(func() {
		p.media.Done()
		p.post(event{kind: evTrackEnded, pub: t})
	})
}

// syncSubs brings the tracks sent to this participant in line with the room, then offers if
// anything changed (or force).
func (p *participant) syncSubs(force bool) {
	pc := p.peer()
	if pc == nil {
		return
	}
	want := p.room.desired(p)
	changed := false
	for t, d := range p.downs {
		if !want[t] {
			p.dropDown(d)
			changed = true
		}
	}
	for t := range want {
		if p.downs[t] == nil && p.addDown(pc, t) {
			changed = true
		}
	}
	if changed {
		list := make([]*downTrack, 0, len(p.downs))
		for _, d := range p.downs {
			list = append(list, d)
		}
		p.downList.Store(&list)
	}
	if changed || force {
		p.negotiate(false)
	}
}

func (p *participant) addDown(pc *webrtc.PeerConnection, t *pubTrack) bool {
	kind := "audio"
	if t.kind == kindVideo {
		kind = "video"
	}
	track, err := webrtc.NewTrackLocalStaticRTP(t.remote.Codec().RTPCodecCapability, t.owner.id+"-"+kind, t.owner.id)
	if err != nil {
		return false
	}
	sender, err := p.sendTrack(pc, track)
	if err != nil {
		p.log.Warn("add track", "err", err)
		return false
	}
	d := &downTrack{pub: t, sub: p, track: track, sender: sender}
	if enc := d.sender.GetParameters().Encodings; len(enc) > 0 {
		d.ssrc = uint32(enc[0].SSRC)
	}
	if !t.addSub(d) {
		_ = pc.RemoveTrack(d.sender)
		return false
	}
	p.downs[t] = d
	p.media.Add(1)
	go func() {
		defer p.media.Done()
		d.readRTCP()
	}()
	return true
}

// sendTrack adds track to pc on a spare media section of its kind if there is one, else on a
// new one. Without reuse each track that ends leaves an inactive section behind, and a long
// call whose participants keep rejoining would grow its offers past the socket's message cap.
func (p *participant) sendTrack(pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticRTP) (*webrtc.RTPSender, error) {
	for i, tr := range p.spare {
		if tr.Kind() != track.Kind() {
			continue
		}
		sender, err := p.api.NewRTPSender(track, pc.SCTP().Transport())
		if err != nil {
			return nil, err
		}
		if err := tr.SetSender(sender, track); err != nil {
			_ = sender.Stop()
			return nil, err
		}
		p.spare = append(p.spare[:i], p.spare[i+1:]...)
		return sender, nil
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	return tr.Sender(), nil
}

func (p *participant) dropDown(d *downTrack) {
	d.closed.Store(true)
	d.pub.removeSub(d)
	if pc := p.peer(); pc != nil {
		for _, tr := range pc.GetTransceivers() {
			if tr.Sender() == d.sender {
				if pc.RemoveTrack(d.sender) == nil {
					p.removing = append(p.removing, tr)
				}
				break
			}
		}
	}
	delete(p.downs, d.pub)
}

// negotiate makes an offer, unless one is outstanding: then it makes one as soon as the answer
// comes (never two offers in flight).
func (p *participant) negotiate(restart bool) {
	pc := p.peer()
	if pc == nil {
		return
	}
	if p.negotiating || p.session() == nil {
		p.pending = true
		p.pendingRestart = p.pendingRestart || restart
		return
	}
	offer, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.log.Warn("offer", "err", err)
		p.sendError(ErrInternal, "could not make an offer", "")
		return
	}
	p.negotiating, p.pending, p.pendingRestart = true, false, false
	p.inOffer = p.inOffer[:0]
	for _, d := range p.downs {
		p.inOffer = append(p.inOffer, d)
	}
	p.removed = append(p.removed, p.removing...)
	p.removing = nil
	p.send(TypeOffer, SDPData{SDP: offer.SDP})
}

// route decides how media reaches the participant once its peer connection has connected, and
// again whenever ICE selects another pair (an ICE restart, a network change): by the fast path
// when the pair is on the UDP mux, else through pion. Whoever newly receives gets keyframes.
func (p *participant) route() {
	pc := p.peer()
	if pc == nil {
		return
	}
	if fp := p.fast.Load(); fp != nil {
		if fp.move(pc, func() { p.sendQueue() }) == nil {
			return
		}
		p.log.Info("media left the UDP mux; forwarding through pion")
		fp.disarm()
		p.fast.Store(nil)
		p.usePion()
		p.requestKeyframes()
		return
	}
	var fp *fastPeer
	fp, err := p.room.hub.media.fast.armFast(pc, func() { p.post(event{kind: evFastFailed, fast: fp}) })
	if err == nil {
		fp.sent = &p.sentFast
		p.room.mu.Lock()
		pubs := append([]*pubTrack(nil), p.pubs...)
		p.room.mu.Unlock()
		for _, t := range pubs {
			fp.addPub(t)
		}
		for _, d := range p.downs {
			d.resumeOn(fp)
		}
		p.viaPion.Store(false)
		p.fast.Store(fp)
		p.requestKeyframes()
		return
	}
	p.log.Debug("media through pion", "why", err)
	if p.usePion() {
		p.requestKeyframes()
	}
}

// usePion sends the media for p through pion from now on, and reports whether it went another
// way before. The send queue this needs is made on first use: about 190 KB that a participant
// on the fast path over UDP (nearly all of them) never touches.
func (p *participant) usePion() bool {
	p.sendQueue()
	return !p.viaPion.Swap(true)
}

// sendQueue is p's send queue, made on first use.
func (p *participant) sendQueue() *sendQueue {
	q := p.queue.Load()
	if q == nil {
		q = newSendQueue(p.room.hub.p.Limits.MediaQueue)
		p.queue.Store(q)
	}
	return q
}

// requestKeyframes asks the publisher of every track sent to p for a keyframe, so that p's
// video starts as soon as it can be decoded.
func (p *participant) requestKeyframes() {
	for _, d := range p.downs {
		d.pub.requestKeyframe(true)
	}
}

// onAnswer applies the client's answer, then sends anything that waited for it.
func (p *participant) onAnswer(sdp string) {
	pc := p.peer()
	if pc == nil || !p.negotiating {
		p.sendError(ErrOutOfOrder, "no offer is waiting for an answer", TypeAnswer)
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		p.sendError(ErrBadSDP, "the answer could not be applied; send a valid answer to the last offer", TypeAnswer)
		return
	}
	p.negotiating = false
	// The tracks in the offer just answered may now be sent, with the payload type agreed for
	// their codec (the server offers, so each codec has the same number for every peer and it
	// is nearly always the publisher's). A track added while the offer was out waits for the
	// next answer.
	for _, d := range p.inOffer {
		pt := d.pub.remote.PayloadType()
		for _, c := range d.sender.GetParameters().Codecs {
			if strings.EqualFold(c.MimeType, d.pub.remote.Codec().MimeType) {
				pt = c.PayloadType
				break
			}
		}
		d.pt.Store(uint32(pt))
		if !d.ready.Swap(true) {
			d.pub.requestKeyframe(true) // it can be decoded from the next keyframe on
		}
	}
	p.inOffer = nil
	p.spare = append(p.spare, p.removed...)
	p.removed = nil
	for _, c := range p.candidates {
		_ = pc.AddICECandidate(c)
	}
	p.candidates = nil
	if p.pending {
		p.negotiate(p.pendingRestart)
	}
}

func (p *participant) onCandidate(c webrtc.ICECandidateInit) {
	pc := p.peer()
	if pc == nil {
		p.sendError(ErrOutOfOrder, "no media session yet", TypeCandidate)
		return
	}
	if pc.RemoteDescription() == nil {
		if len(p.candidates) < maxPendingCandidates {
			p.candidates = append(p.candidates, c)
		}
		return
	}
	if err := pc.AddICECandidate(c); err != nil {
		p.sendError(ErrBadCandidate, "the candidate could not be added", TypeCandidate)
	}
}

// closeMedia releases the peer connection and everything forwarding to or from it, leaving
// the participant without media (as when it waited) until startMedia.
func (p *participant) closeMedia() {
	if fp := p.fast.Swap(nil); fp != nil {
		fp.disarm()
	}
	p.viaPion.Store(false)
	for _, d := range p.downs {
		d.closed.Store(true)
		d.pub.removeSub(d)
	}
	p.downs = map[*pubTrack]*downTrack{}
	p.downList.Store(&[]*downTrack{})
	p.candidates, p.inOffer = nil, nil
	p.removing, p.removed, p.spare = nil, nil, nil
	p.negotiating, p.pending, p.pendingRestart = false, false, false
	p.room.mu.Lock()
	p.pubs = nil
	p.room.resyncLocked()
	p.room.mu.Unlock()
	p.pcMu.Lock()
	pc := p.pc
	p.pc = nil
	p.pcMu.Unlock()
	if pc != nil {
		settleICE(pc, 3*time.Second)
		if err := pc.GracefulClose(); err != nil {
			p.log.Debug("close peer connection", "err", err)
		}
	}
	p.media.Wait()
	if q := p.queue.Swap(nil); q != nil {
		q.stop()
	}
}

// counters snapshots the participant's raw media counters for the quality ticker.
func (p *participant) counters() counters {
	var c counters
	p.room.mu.Lock()
	pubs := append([]*pubTrack(nil), p.pubs...)
	p.room.mu.Unlock()
	var jitterSet bool
	for _, t := range pubs {
		c.upBytes += t.stats.bytes.Load()
		c.packets += t.stats.packets.Load()
		c.expected += t.stats.expected.Load()
		if t.kind == kindAudio || !jitterSet {
			c.jitter = t.stats.jitter()
			jitterSet = t.kind == kindAudio
		}
	}
	c.downBytes = p.sentFast.Load()
	if q := p.queue.Load(); q != nil {
		c.downBytes += q.sentBytes.Load()
	}
	for _, d := range *p.downList.Load() {
		c.downLossFraction = max(c.downLossFraction, float64(d.fractionLost.Load())/256)
		c.rtt = max(c.rtt, time.Duration(d.rtt.Load()))
	}
	return c
}

// packetCounts is how many audio and video packets the server has received from p.
func (p *participant) packetCounts() (audio, video uint64) {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	for _, t := range p.pubs {
		if t.kind == kindAudio {
			audio += t.stats.packets.Load()
		} else {
			video += t.stats.packets.Load()
		}
	}
	return audio, video
}

// settleICE waits (up to limit) for an ICE check in progress to finish. pion v3.3.6 races when
// a peer connection is closed at the moment its ICE transport finishes starting (ICETransport
// Start writes its mux while stop reads it); closing before checks begin or after they end is
// safe.
func settleICE(pc *webrtc.PeerConnection, limit time.Duration) {
	if pc.RemoteDescription() == nil {
		return
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		switch pc.ICEConnectionState() {
		case webrtc.ICEConnectionStateNew, webrtc.ICEConnectionStateChecking:
			time.Sleep(10 * time.Millisecond)
		default:
			return
		}
	}
}
