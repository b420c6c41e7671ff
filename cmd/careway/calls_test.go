package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestConfigMedia reads the media settings: ports, public addresses, ICE servers split into
// STUN and TURN, and socket origins defaulting to the CORS origins.
func TestConfigMedia(t *testing.T) {
	env := map[string]string{"CAREWAY_WEBRTC_PUBLIC_IP": "203.0.113.7, 2001:db8::1", "CAREWAY_WEBRTC_TCP_PORT": "0",
		"CAREWAY_ICE_SERVERS": "stun:stun.example.org:3478, turns:turn.example.org:5349", "CAREWAY_TURN_SECRET": "s",
		"CAREWAY_CORS_ORIGINS": "https://app.example.org"}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	n := mediaNetwork(cfg)
	if n.UDPPort != 50000 || n.TCPPort != -1 || len(n.PublicIPs) != 2 || n.STUNURLs[0] != "stun:stun.example.org:3478" ||
		n.TURNURLs[0] != "turns:turn.example.org:5349" || n.TURNTTL != 12*time.Hour {
		t.Errorf("network %+v", n)
	}
	if len(cfg.WSOrigins) != 1 || cfg.WSOrigins[0] != "https://app.example.org" || cfg.InviteTTL != 24*time.Hour {
		t.Errorf("origins %v, invite TTL %v", cfg.WSOrigins, cfg.InviteTTL)
	}
}

// TestShutdownClosesCallSockets: a participant's signaling socket is closed with 1001 (going
// away) when the program stops, and the program still stops promptly.
func TestShutdownClosesCallSockets(t *testing.T) {
	p := startProgram(t, demoEnv(t.TempDir()))
	gp := p.login("gp1@demo.careway.test", demoPassword)
	status, body := p.call("POST", "/api/v1/calls", gp, map[string]string{"patientId": demoID(kindPatient, 1)})
	if status != 201 {
		t.Fatalf("create call: %d %s", status, body)
	}
	var call struct{ ID string }
	json.Unmarshal(body, &call)
	status, body = p.call("POST", "/api/v1/calls/"+call.ID+"/tickets", gp, nil)
	if status != 201 {
		t.Fatalf("ticket: %d %s", status, body)
	}
	var tk struct{ Ticket string }
	json.Unmarshal(body, &tk)

	url := "ws" + strings.TrimPrefix(p.base, "http") + "/api/v1/calls/" + call.ID + "/ws?ticket=" + tk.Ticket
	conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {p.base}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","data":{}}`)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || !strings.Contains(string(msg), `"joined"`) {
		t.Fatalf("first message %s, %v; want joined", msg, err)
	}

	stopped := make(chan time.Duration, 1)
	go func() { stopped <- p.stop() }()
	code := 0
	for {
		_, _, err := conn.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				code = ce.Code
			}
			break
		}
	}
	if code != websocket.CloseGoingAway {
		t.Errorf("socket closed with %d, want 1001 (going away)", code)
	}
	if took := <-stopped; took > 10*time.Second {
		t.Errorf("stopping took %v with a call socket open", took)
	}
}
