// Command ltcbench measures a batch of 500 readings posted through Careway's API (HTTP on
// loopback, the real handlers, stores and embedded FerretDB) against the driver's InsertMany of
// the same documents into the same collection of the same database, in one run
// (PERFORMANCE.md: the API at most 1.33 × InsertMany). The InsertMany side takes the readings
// as the API answered them, gives them new ids and stores them with
// store.ObservationStore.InsertObservations, which is one unordered InsertMany of the same
// BSON documents. The two alternate (which goes first alternates too), so both see the same
// machine load and collection size; each run prints the medians and their ratio, and the end
// the median run. CI builds it but never runs it.
//
//	go run ./cmd/ltcbench -runs 3 -batches 16
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	"careway/auth"
	"careway/docs"
	"careway/handlers"
	"careway/models"
	"careway/store"
	"careway/store/embedded"
)

func main() {
	runs := flag.Int("runs", 3, "runs; the medians of each run are reported, then the median run")
	batches := flag.Int("batches", 15, "batches of each kind per run (after 3 warm-up batches)")
	size := flag.Int("size", 500, "readings per batch")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if err := run(*runs, *batches, *size, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "ltcbench:", err)
		os.Exit(1)
	}
}

func run(runs, batches, size int, profile string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ltcbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(ctx, embedded.Params{DataDir: dir + "/data"})
	if err != nil {
		return err
	}
	defer srv.Close()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, srv.URI(), "ltcbench", log)
	if err != nil {
		return err
	}
	defer db.Close(ctx)

	w, err := setUp(ctx, db, dir, log)
	if err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var apiMed, dbMed []time.Duration
	for r := 0; r < runs; r++ {
		var api, ins []time.Duration
		var template []*models.Observation
		for b := -3; b < batches; b++ {
			body := batchBody(size, b)
			postAPI := func() (time.Duration, error) {
				t0 := time.Now()
				_, err := w.post(body, size)
				return time.Since(t0), err
			}
			if template == nil {
				// The same readings as the API stored them (read from its answer) go to the
				// store's InsertObservations, which is one driver InsertMany of the same
				// documents, with new ids.
				if template, err = w.post(body, size); err != nil {
					return err
				}
				body = batchBody(size, b) // new ids for the measured post
			}
			insert := func() (time.Duration, error) {
				obs := withNewIDs(template, b)
				t0 := time.Now()
				per, err := w.obs.InsertObservations(ctx, obs)
				d := time.Since(t0)
				for _, e := range per {
					if e != nil {
						return d, e
					}
				}
				return d, err
			}
			// Alternate which goes first, so that neither always follows the other's write.
			first, second := postAPI, insert
			if b%2 != 0 {
				first, second = insert, postAPI
			}
			t1, err := first()
			if err != nil {
				return err
			}
			t2, err := second()
			if err != nil {
				return err
			}
			tAPI, tIns := t1, t2
			if b%2 != 0 {
				tAPI, tIns = t2, t1
			}
			if b >= 0 {
				api, ins = append(api, tAPI), append(ins, tIns)
			}
		}
		ma, mi := median(api), median(ins)
		apiMed, dbMed = append(apiMed, ma), append(dbMed, mi)
		fmt.Printf("run %d: API %v, InsertMany %v, ratio %.2f (medians of %d batches of %d)\n", r+1, ma.Round(time.Microsecond), mi.Round(time.Microsecond), float64(ma)/float64(mi), batches, size)
	}
	ma, mi := median(apiMed), median(dbMed)
	ratios := make([]time.Duration, len(apiMed)) // per-run ratios, ×1000, to reuse median
	for i := range apiMed {
		ratios[i] = apiMed[i] * 1000 / dbMed[i]
	}
	fmt.Printf("median of runs: API %v, InsertMany %v, ratio of medians %.2f, median of run ratios %.2f\n",
		ma.Round(time.Microsecond), mi.Round(time.Microsecond), float64(ma)/float64(mi), float64(median(ratios))/1000)
	return nil
}

// bench is a running Careway with one patient who posts readings.
type bench struct {
	base, token string
	patient     models.PatientID
	client      *http.Client
	obs         *store.ObservationStore
}

func setUp(ctx context.Context, db *store.DB, dir string, log *slog.Logger) (*bench, error) {
	users, patients, orgs := store.NewUserStore(db), store.NewPatientStore(db), store.NewOrgStore(db)
	keys, err := auth.LoadOrCreateKeyRing(dir, time.Now())
	if err != nil {
		return nil, err
	}
	tokens := auth.NewTokens(auth.TokenParams{Keys: keys, Issuer: "careway", Audience: "careway-api"})
	hasher := auth.NewHasher(1)
	svc := auth.NewService(auth.ServiceParams{Users: users, Refresh: store.NewRefreshTokenStore(db), Hasher: hasher,
		Tokens: tokens, Throttle: auth.NewThrottle(auth.ThrottleParams{})})
	app := handlers.NewApp(handlers.Params{DB: db, Users: users, Patients: patients, Orgs: orgs,
		Audit: store.NewAuditStore(db), Conditions: store.NewConditionStore(db),
		Observations: store.NewObservationStore(db), Plans: store.NewPlanStore(db), Alerts: store.NewAlertStore(db),
		AlertTriage: store.NewTriageStore(db), Auth: svc, Tokens: tokens, Keys: keys, Hasher: hasher,
		OpenAPI: docs.OpenAPI, Logger: log, AccessLog: true, BodyLimit: 4 << 20})

	now := time.Now().UTC()
	practice := &models.Practice{ID: models.PracticeID(models.NewID()), Name: "Bench Practice", CreatedAt: now}
	if err := orgs.CreatePractice(ctx, practice); err != nil {
		return nil, err
	}
	p := &models.Patient{ID: models.PatientID(models.NewID()), Name: "Bench Patient", DateOfBirth: "1960-01-01",
		PracticeID: practice.ID, CreatedAt: now, UpdatedAt: now}
	if err := patients.CreatePatient(ctx, p); err != nil {
		return nil, err
	}
	u := &models.User{ID: models.UserID(models.NewID()), Email: "bench@example.org", Name: "Bench", Role: models.RolePatient,
		PatientID: p.ID, PasswordHash: "unused", CreatedAt: now, UpdatedAt: now}
	if err := users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	tok, _, err := tokens.Issue(u)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go app.Listener(ln)
	return &bench{base: "http://" + ln.Addr().String(), token: tok, patient: p.ID, client: &http.Client{Timeout: time.Minute},
		obs: store.NewObservationStore(db)}, nil
}

// batchBody makes a batch of readings of the kinds a care home or an offline app uploads: vital
// signs (NEWS2), blood pressure, glucose, heart rate and PHQ-9, spread over recent days, all
// normal or amber so that the run measures storing and scoring rather than alerting.
func batchBody(n, seq int) []byte {
	now := time.Now().UTC()
	items := make([]map[string]any, n)
	for i := range items {
		at := now.Add(-time.Duration((seq+3)*n+i+10) * time.Minute).Format(time.RFC3339)
		r := map[string]any{"id": models.NewID(), "effectiveAt": at}
		switch i % 5 {
		case 0:
			r["code"] = "vital_signs"
			r["respiratoryRate"], r["oxygenSaturation"], r["onOxygen"] = 16+i%4, 96, false
			r["systolic"], r["pulse"], r["consciousness"], r["temperature"] = 120+i%20, 70+i%15, "A", 36.8
		case 1:
			r["code"], r["systolic"], r["diastolic"] = "blood_pressure", 125+i%20, 78+i%8
		case 2:
			r["code"], r["value"], r["unit"] = "blood_glucose", 5.5+float64(i%30)/10, "mmol/L"
		case 3:
			r["code"], r["value"] = "heart_rate", 60+i%30
		default:
			r["code"], r["answers"] = "phq9", []int{1, 0, 1, 0, 1, 0, 1, 0, 0}
		}
		items[i] = r
	}
	b, _ := json.Marshal(map[string]any{"observations": items})
	return b
}

func (w *bench) post(body []byte, n int) ([]*models.Observation, error) {
	req, err := http.NewRequest("POST", w.base+"/api/v1/patients/"+string(w.patient)+"/observations", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Created int
		Items   []struct{ Observation *models.Observation }
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 || out.Created != n {
		return nil, fmt.Errorf("POST answered %d, created %d of %d: %.300s", resp.StatusCode, out.Created, n, b)
	}
	obs := make([]*models.Observation, len(out.Items))
	for i, it := range out.Items {
		obs[i] = it.Observation
		obs[i].Fingerprint = obs[i].ComputeFingerprint()
	}
	return obs, nil
}

// withNewIDs copies readings with fresh ids, moved back in time by batch days so that each
// batch's readings have their own times, as the API's batches do; everything else is as the
// API stored it.
func withNewIDs(obs []*models.Observation, batch int) []*models.Observation {
	out := make([]*models.Observation, len(obs))
	for i, o := range obs {
		c := *o
		c.ID = models.ObservationID(models.NewID())
		c.EffectiveAt = c.EffectiveAt.AddDate(0, 0, -(batch + 4))
		out[i] = &c
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
