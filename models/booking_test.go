package models

import (
	"testing"
	"time"
)

func TestSessionValidate(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	ok := func() Session {
		return Session{SiteID: "s", ClinicianID: "c", ServiceType: ServiceGP, Modes: []AppointmentMode{ModeFaceToFace, ModeVideo},
			Start: now.Add(2 * time.Hour), End: now.Add(3 * time.Hour), SlotMinutes: 10}
	}
	s := ok()
	if err := s.Validate(now); err != nil {
		t.Fatalf("valid session refused: %v", err)
	}
	cases := []struct {
		field string
		edit  func(*Session)
	}{
		{"siteId", func(s *Session) { s.SiteID = "" }},
		{"clinicianId", func(s *Session) { s.ClinicianID = "" }},
		{"serviceType", func(s *Session) { s.ServiceType = "surgery" }},
		{"modes", func(s *Session) { s.Modes = nil }},
		{"modes", func(s *Session) { s.Modes = []AppointmentMode{"carrier_pigeon"} }},
		{"modes", func(s *Session) { s.Modes = []AppointmentMode{ModeVideo, ModeVideo} }},
		{"slotMinutes", func(s *Session) { s.SlotMinutes = 4 }},
		{"slotMinutes", func(s *Session) { s.SlotMinutes = 121 }},
		{"start", func(s *Session) { s.Start = now.Add(-time.Minute); s.End = now.Add(time.Hour - time.Minute) }},
		{"start", func(s *Session) { s.Start = s.Start.Add(time.Second) }},
		{"start", func(s *Session) { s.Start = now.Add(367 * 24 * time.Hour); s.End = s.Start.Add(time.Hour) }},
		{"end", func(s *Session) { s.End = s.Start }},
		{"end", func(s *Session) { s.End = s.Start.Add(13 * time.Hour) }},
		{"end", func(s *Session) { s.End = s.Start.Add(55 * time.Minute); s.SlotMinutes = 10 }},
	}
	for _, c := range cases {
		s := ok()
		c.edit(&s)
		err := s.Validate(now)
		e, _ := err.(*Error)
		if e == nil || e.Code != EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", c.field, err)
			continue
		}
		found := false
		for _, f := range e.Fields {
			found = found || f.Field == c.field
		}
		if !found {
			t.Errorf("%s: fields = %v, want %s named", c.field, e.Fields, c.field)
		}
	}
}

func TestAppointmentHolds(t *testing.T) {
	a := &Appointment{SlotIDs: []SlotID{"a", "b"}, Status: ApptBooked}
	if !a.Holds("a") || !a.Holds("b") || a.Holds("c") {
		t.Fatal("a booked appointment holds exactly its slots")
	}
	for _, st := range []string{ApptCancelled, ApptNeedsRebooking} {
		a.Status = st
		if a.Holds("a") {
			t.Errorf("a %s appointment holds nothing", st)
		}
	}
}

func TestAdjustmentsValidate(t *testing.T) {
	var p Problems
	(&Adjustments{Interpreter: true}).Validate("adjustments", &p)
	(&Adjustments{Language: "Polish"}).Validate("adjustments", &p)
	if len(p) != 2 || p[0].Field != "adjustments.language" {
		t.Fatalf("problems = %v", p)
	}
	p = nil
	(&Adjustments{Interpreter: true, Language: " Polish "}).Validate("adjustments", &p)
	if len(p) != 0 {
		t.Fatalf("valid adjustments refused: %v", p)
	}
}
