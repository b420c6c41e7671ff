// Command bookbench measures slot search and booking under load, from its own process, against a
// running Careway on loopback.
//
//	bookbench seed -data DIR            # a practice of 10,000 patients and a month of sessions
//	CAREWAY_DATA_DIR=DIR CAREWAY_DEMO=false CAREWAY_ACCESS_LOG=false careway &
//	bookbench load -url http://127.0.0.1:8080 -phase search -duration 15s -c 8
//	bookbench load -url http://127.0.0.1:8080 -phase book -duration 15s -c 8
//
// seed writes straight into the embedded database (Careway must not be running on DIR); load
// signs in as the practice's administrator and reports requests/s, p50 and p99.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"careway/auth"
	"careway/models"
	"careway/store"
	"careway/store/embedded"
)

const (
	benchEmail    = "bench-admin@bench.careway.test"
	benchPassword = "bench horse battery staple 42"
	patients      = 10_000
	clinicians    = 10
)

var practiceID = models.PracticeID(models.DerivedID("bench", "practice"))

func patientID(i int) models.PatientID {
	return models.PatientID(models.DerivedID("bench", "patient", strconv.Itoa(i)))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bookbench seed|load [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bookbench:", err)
		os.Exit(1)
	}
}

func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dir := fs.String("data", "", "Careway data directory (embedded database)")
	days := fs.Int("days", 30, "days of sessions from tomorrow")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("-data is required")
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	srv, err := embedded.Start(ctx, embedded.Params{DataDir: *dir, Logger: log})
	if err != nil {
		return err
	}
	defer srv.Close()
	db, err := store.Open(ctx, srv.URI(), "careway", log)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	if _, err := srv.IndexIDs(ctx, "careway"); err != nil {
		return err
	}
	orgs, pats, users, sessions := store.NewOrgStore(db), store.NewPatientStore(db), store.NewUserStore(db), store.NewSessionStore(db)
	now := time.Now().UTC()
	ignore := func(err error) error {
		if models.ErrorCode(err) == models.ECONFLICT {
			return nil
		}
		return err
	}
	if err := ignore(orgs.CreatePractice(ctx, &models.Practice{ID: practiceID, Name: "Bench Practice", CreatedAt: now})); err != nil {
		return err
	}
	addr := models.Address{Line1: "1 Bench Road", Town: "Calderford", Postcode: "HX1 1AA"}
	sites := []models.SiteID{models.SiteID(models.DerivedID("bench", "site", "1")), models.SiteID(models.DerivedID("bench", "site", "2"))}
	for i, s := range sites {
		if err := ignore(orgs.CreateSite(ctx, &models.Site{ID: s, PracticeID: practiceID, Name: "Site " + strconv.Itoa(i+1), Address: addr, StepFreeAccess: i == 0, CreatedAt: now})); err != nil {
			return err
		}
	}
	hash, err := auth.NewHasher(1).Hash(ctx, benchPassword)
	if err != nil {
		return err
	}
	if err := ignore(users.CreateUser(ctx, &models.User{ID: models.UserID(models.DerivedID("bench", "admin")), Email: benchEmail, Name: "Bench Admin",
		Role: models.RoleAdmin, PracticeID: practiceID, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})); err != nil {
		return err
	}
	start := time.Now()
	for i := 0; i < patients; i++ {
		p := &models.Patient{ID: patientID(i), Name: "Bench Patient " + strconv.Itoa(i), DateOfBirth: "1960-01-01", PracticeID: practiceID, CreatedAt: now, UpdatedAt: now}
		if err := ignore(pats.CreatePatient(ctx, p)); err != nil {
			return err
		}
	}
	fmt.Printf("patients: %d in %v\n", patients, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	n, slots := 0, 0
	today := now.Truncate(24 * time.Hour)
	for d := 1; d <= *days; d++ {
		day := today.AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for c := 0; c < clinicians; c++ {
			clin := models.UserID(models.DerivedID("bench", "clinician", strconv.Itoa(c)))
			for _, h := range []int{9, 14} { // a morning and an afternoon session of 3 h, 10-minute slots
				s := &models.Session{ID: models.SessionID(models.DerivedID("bench", "session", day.Format(time.DateOnly), strconv.Itoa(c), strconv.Itoa(h))),
					PracticeID: practiceID, SiteID: sites[c%2], ClinicianID: clin, ServiceType: models.ServiceGP,
					Modes: []models.AppointmentMode{models.ModeFaceToFace, models.ModeVideo}, Start: day.Add(time.Duration(h) * time.Hour),
					End: day.Add(time.Duration(h+3) * time.Hour), SlotMinutes: 10, CreatedAt: now, UpdatedAt: now}
				if err := ignore(sessions.CreateSession(ctx, s, c%2 == 0)); err != nil {
					return err
				}
				n++
				slots += 18
			}
		}
	}
	fmt.Printf("sessions: %d (%d slots) in %v\n", n, slots, time.Since(start).Round(time.Millisecond))
	fmt.Printf("practiceId=%s admin=%s password=%q\n", practiceID, benchEmail, benchPassword)
	return nil
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "Careway base URL (loopback)")
	phase := fs.String("phase", "search", "search or book")
	dur := fs.Duration("duration", 15*time.Second, "how long to run (at most 2 minutes)")
	conc := fs.Int("c", 8, "concurrent clients")
	pool := fs.Int("slots", 600, "book phase: how many free slots to fetch first and book")
	fs.Parse(args)
	if *dur > 2*time.Minute {
		*dur = 2 * time.Minute
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2}, Timeout: 30 * time.Second}
	token, err := login(client, *base)
	if err != nil {
		return err
	}
	var free []string
	if *phase == "book" {
		if free, err = freeSlots(client, *base, token, *pool); err != nil {
			return err
		}
		rand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		statuses  = map[int]int{}
		next      atomic.Int64
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(*dur)
	begin := time.Now()
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			st := map[int]int{}
		requests:
			for time.Now().Before(deadline) {
				var req *http.Request
				switch *phase {
				case "search":
					from := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1+rand.IntN(28)).Add(time.Duration(rand.IntN(10)) * time.Hour)
					req, _ = http.NewRequest("GET", fmt.Sprintf("%s/api/v1/slots?practiceId=%s&mode=face_to_face&from=%s&limit=20", *base, practiceID, from.Format(time.RFC3339)), nil)
				case "book":
					// Two clients in three go after a fresh slot; the third retries a slot
					// already tried, so conflicts are part of the load.
					k := next.Add(1) - 1
					if rand.IntN(3) == 0 && k > 0 {
						k = rand.Int64N(k)
					}
					if int(k) >= len(free) {
						break requests // every slot tried: stop, keeping what was measured
					}
					b, _ := json.Marshal(map[string]any{"id": models.NewID(), "slotId": free[k], "patientId": patientID(rand.IntN(patients)), "reason": "bench"})
					req, _ = http.NewRequest("POST", *base+"/api/v1/appointments", bytes.NewReader(b))
					req.Header.Set("Content-Type", "application/json")
				default:
					break requests
				}
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					st[-1]++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				st[resp.StatusCode]++
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			for k, v := range st {
				statuses[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	slices.Sort(latencies)
	q := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))]
	}
	fmt.Printf("phase=%s c=%d requests=%d elapsed=%v rps=%.1f p50=%v p99=%v statuses=%v\n", *phase, *conc, len(latencies),
		elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(), q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), statuses)
	return nil
}

func login(c *http.Client, base string) (string, error) {
	b, _ := json.Marshal(map[string]string{"email": benchEmail, "password": benchPassword})
	resp, err := c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("login: status %d", resp.StatusCode)
	}
	return out.AccessToken, nil
}

// freeSlots pages through the free slots of the practice (up to max).
func freeSlots(c *http.Client, base, token string, max int) ([]string, error) {
	var ids []string
	cursor := ""
	for len(ids) < max {
		u := fmt.Sprintf("%s/api/v1/slots?practiceId=%s&limit=200", base, practiceID)
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items      []struct{ ID string }
			NextCursor *string
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	return ids, nil
}
