package main

import (
	"context"
	"time"

	"careway/models"
)

// demoAdjustments are the reasonable adjustments recorded on a few demo patients, so that the
// demo shows them applied: patient1 (signs in as patient1@demo.careway.test) needs step-free
// access and so is offered only the Riverside Health Centre for face-to-face care; the first
// resident needs step-free access and a carer with her; patient14 needs a Polish interpreter.
var demoAdjustments = []struct {
	kind byte
	n    int
	adj  models.Adjustments
}{
	{kindPatient, 1, models.Adjustments{StepFree: true}},
	{kindResident, 1, models.Adjustments{StepFree: true, CarerAttending: true, Longer: true, Notes: "Uses a wheelchair; a carer comes with her."}},
	{kindPatient, 14, models.Adjustments{Interpreter: true, Language: "Polish"}},
}

// seedDemoAdjustments records the demo adjustments on patients that have none yet. It runs at
// every demo start: a patient with adjustments (recorded by an earlier start, or changed by a
// demo user since) is left alone, so nothing is written twice or overwritten. A database
// without the demo practice is not touched.
func seedDemoAdjustments(ctx context.Context, patients models.PatientStore, now time.Time) (int, error) {
	made := 0
	for _, d := range demoAdjustments {
		p, err := patients.PatientByID(ctx, models.PatientID(demoID(d.kind, d.n)))
		if models.ErrorCode(err) == models.ENOTFOUND {
			return made, nil // not the demo database
		} else if err != nil {
			return made, err
		}
		if p.PracticeID != models.PracticeID(demoID(kindPractice, 1)) || p.Adjustments != nil {
			continue
		}
		rec := &models.RecordedAdjustments{Adjustments: d.adj, Version: 1, UpdatedBy: models.UserID(demoID(kindUser, 1)), UpdatedAt: now.UTC()}
		_, err = patients.SetAdjustments(ctx, p.ID, p.PracticeID, p.CareHomeID, rec)
		switch models.ErrorCode(err) {
		case "":
			made++
		case models.ECONFLICT: // another node seeded it meanwhile
		default:
			return made, err
		}
	}
	return made, nil
}
