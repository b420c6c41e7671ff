package booking_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"careway/booking"
	"careway/models"
)

func TestWebhookDeliverer(t *testing.T) {
	got := make(chan models.Notification, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n models.Notification
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&n) != nil {
			w.WriteHeader(400)
			return
		}
		got <- n
		w.WriteHeader(204)
	}))
	defer srv.Close()
	d := booking.WebhookDeliverer{URL: srv.URL, Timeout: time.Second}
	n := &models.Notification{ID: "n1", PatientID: "p1", Kind: booking.KindConfirmed, Title: "t", Body: "b"}
	if err := d.Deliver(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.ID != "n1" || r.Kind != booking.KindConfirmed {
		t.Fatalf("webhook got %+v", r)
	}

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	if err := (booking.WebhookDeliverer{URL: failing.URL, Timeout: time.Second}).Deliver(context.Background(), n); err == nil {
		t.Error("a 500 from the webhook is not an error")
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	start := time.Now()
	if err := (booking.WebhookDeliverer{URL: slow.URL, Timeout: 100 * time.Millisecond}).Deliver(context.Background(), n); err == nil {
		t.Error("a webhook slower than the timeout is not an error")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the timeout did not bound the call: %v", took)
	}
}
