package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

var _ models.PopulationStore = (*PopulationStore)(nil)

// PopulationStore answers the population view's bulk questions from the conditions, plans and
// observations collections.
//
// Conditions and plans are small per patient, so they are read with one $in query per chunk of
// patients. Readings are not (home blood pressure twice a day is 700 a year), and FerretDB has
// no $first to keep one per patient in a $group, so the latest reading is one indexed findOne
// per patient (index patientId, code, status, effectiveAt), a few at a time.
type PopulationStore struct {
	db *DB
}

// NewPopulationStore returns the PopulationStore of db.
func NewPopulationStore(db *DB) *PopulationStore { return &PopulationStore{db: db} }

// populationChunk bounds the ids of one $in query; populationWorkers the findOnes in flight.
const (
	populationChunk   = 500
	populationWorkers = 4
)

func chunks(ids []models.PatientID) [][]string {
	var out [][]string
	for len(ids) > 0 {
		n := min(len(ids), populationChunk)
		c := make([]string, n)
		for i := range c {
			c[i] = string(ids[i])
		}
		out = append(out, c)
		ids = ids[n:]
	}
	return out
}

// findAll decodes every document matching filter.
func findAll[D any](ctx context.Context, c *mongo.Collection, filter bson.D) ([]D, error) {
	cur, err := c.Find(ctx, filter)
	if err != nil {
		return nil, wrapErr(c.Name()+".find", err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapErr(c.Name()+".find", err)
	}
	return docs, nil
}

// ActiveConditions returns each patient's active condition codes.
func (s *PopulationStore) ActiveConditions(ctx context.Context, patients []models.PatientID) (map[models.PatientID][]models.ConditionCode, error) {
	out := map[models.PatientID][]models.ConditionCode{}
	for _, ids := range chunks(patients) {
		docs, err := findAll[conditionDoc](ctx, s.db.collection(collConditions),
			bson.D{{Key: "patientId", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return nil, err
		}
		for i := range docs {
			if c := docs[i].model(); c.Status == models.ConditionActive {
				out[c.PatientID] = append(out[c.PatientID], c.Code)
			}
		}
	}
	return out, nil
}

// CurrentPlans returns the highest version of each plan of each patient.
func (s *PopulationStore) CurrentPlans(ctx context.Context, patients []models.PatientID) (map[models.PatientID][]*models.Plan, error) {
	current := map[string]*planDoc{}
	for _, ids := range chunks(patients) {
		docs, err := findAll[planDoc](ctx, s.db.collection(collPlans),
			bson.D{{Key: "patientId", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return nil, err
		}
		for i := range docs {
			d := &docs[i]
			if cur, ok := current[d.PlanID]; !ok || d.Version > cur.Version {
				current[d.PlanID] = d
			}
		}
	}
	out := map[models.PatientID][]*models.Plan{}
	for _, d := range current {
		p := d.model()
		out[p.PatientID] = append(out[p.PatientID], p)
	}
	return out, nil
}

// LatestReadings returns each patient's latest final reading of code (any code when "") taken
// at or after since.
func (s *PopulationStore) LatestReadings(ctx context.Context, patients []models.PatientID, code models.ObservationCode, since time.Time) (map[models.PatientID]*models.Observation, error) {
	var (
		mu       sync.Mutex
		out      = map[models.PatientID]*models.Observation{}
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan models.PatientID)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := s.db.collection(collObservations)
	sort := options.FindOne().SetSort(bson.D{{Key: "effectiveAt", Value: -1}, {Key: "_id", Value: -1}})
	for range populationWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				filter := bson.D{{Key: "patientId", Value: string(id)}}
				if code != "" {
					filter = append(filter, bson.E{Key: "code", Value: string(code)})
				}
				filter = append(filter, bson.E{Key: "status", Value: models.ObservationFinal},
					bson.E{Key: "effectiveAt", Value: bson.D{{Key: "$gte", Value: since.UTC()}}})
				var d observationDoc
				err := c.FindOne(ctx, filter, sort).Decode(&d)
				mu.Lock()
				switch {
				case err == nil:
					out[id] = d.model()
				case !errors.Is(err, mongo.ErrNoDocuments) && firstErr == nil:
					firstErr = wrapErr("observations.findOne", err)
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range patients {
		select {
		case next <- id:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, wrapErr("observations.findOne", err)
	}
	return out, nil
}
