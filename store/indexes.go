package store

import (
	"context"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Collection names.
const (
	collUsers         = "users"
	collPatients      = "patients"
	collPractices     = "practices"
	collSites         = "sites"
	collCareHomes     = "careHomes"
	collAudit         = "audit"
	collRefreshTokens = "refreshTokens"
	collConditions    = "conditions"
	collObservations  = "observations"
	collPlans         = "plans"
	collAlerts        = "alerts"
	collTriage        = "triageRequests"
	collCalls         = "calls"
	collCallInvites   = "callInvites"
	collCallTickets   = "callTickets"

	// Booking.
	collSessions        = "sessions"
	collSlots           = "slots"
	collAppointments    = "appointments"
	collNotifications   = "notifications"
	collLeases          = "leases"
	collBookingPolicies = "bookingPolicies"
	collInvitations     = "bookingInvitations"
)

// key builds an index key from field/direction pairs, in order.
func key(pairs ...any) bson.D {
	d := make(bson.D, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		d = append(d, bson.E{Key: pairs[i].(string), Value: pairs[i+1]})
	}
	return d
}

func unique(k bson.D) mongo.IndexModel {
	return mongo.IndexModel{Keys: k, Options: options.Index().SetUnique(true)}
}

func plain(k bson.D) mongo.IndexModel { return mongo.IndexModel{Keys: k} }

// indexes lists, per collection, one index for each query the stores make: the equality fields
// first, then the sort fields, so MongoDB answers every list from the index without sorting in
// memory. Unique indexes never rely on partial or sparse options, which FerretDB v1.24 lacks
// (it silently ignores "sparse"): optional unique values get a derived key that is always set
// (see nhsKey and odsKey). It builds the models afresh at each call because the driver writes
// the generated index name into their options.
func indexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		collUsers: {
			unique(key("email", 1)),
			plain(key("role", 1, "_id", 1)),
			plain(key("practiceId", 1, "_id", 1)),
			plain(key("practiceId", 1, "role", 1, "_id", 1)),
			plain(key("careHomeId", 1, "role", 1, "_id", 1)),
		},
		collPatients: {
			unique(key("nhsKey", 1)),
			plain(key("practiceId", 1, "_id", 1)),
			plain(key("careHomeId", 1, "_id", 1)),
			plain(key("requestedPracticeId", 1, "_id", 1)),
		},
		collPractices: {
			unique(key("odsKey", 1)),
		},
		collSites: {
			plain(key("practiceId", 1, "_id", 1)),
		},
		collCareHomes: {
			plain(key("practiceId", 1, "_id", 1)),
		},
		collAudit: {
			plain(key("patientId", 1, "at", -1, "_id", -1)),
			plain(key("actorId", 1, "at", -1, "_id", -1)),
		},
		collConditions: {
			plain(key("patientId", 1, "recordedAt", 1, "_id", 1)),
		},
		collObservations: {
			plain(key("patientId", 1, "code", 1, "effectiveAt", -1, "_id", -1)),
			plain(key("patientId", 1, "effectiveAt", -1, "_id", -1)),
			plain(key("patientId", 1, "code", 1, "status", 1, "effectiveAt", -1, "_id", -1)),
			plain(key("patientId", 1, "updatedAt", 1, "_id", 1)), // change feed (store/changes.go)
		},
		collPlans: {
			unique(key("createKey", 1)),
			plain(key("patientId", 1, "planId", 1, "version", 1)),
			plain(key("patientId", 1, "condition", 1, "planId", 1, "version", 1)),
			plain(key("patientId", 1, "createdAt", 1, "_id", 1)), // change feed (store/changes.go)
		},
		collAlerts: {
			unique(key("openKey", 1)),
			plain(key("practiceId", 1, "openedAt", -1, "_id", -1)),
			plain(key("practiceId", 1, "status", 1, "openedAt", -1, "_id", -1)),
			plain(key("patientId", 1, "openedAt", -1, "_id", -1)),
			plain(key("patientId", 1, "updatedAt", 1, "_id", 1)), // change feed (store/changes.go)
		},
		collRefreshTokens: {
			plain(key("familyId", 1)),
			plain(key("expiresAt", 1)),
		},
		collTriage: {
			plain(key("practiceId", 1, "status", 1, "createdAt", 1, "_id", 1)),
			plain(key("patientId", 1, "createdAt", -1, "_id", -1)),
		},
		collCalls: {
			plain(key("practiceId", 1, "status", 1, "createdAt", -1, "_id", -1)),
			plain(key("appointmentId", 1, "status", 1, "createdAt", -1)),
			plain(key("triageRequestId", 1, "status", 1, "createdAt", -1)),
			plain(key("patientId", 1, "createdAt", -1, "_id", -1)), // ListCallsForPatient (FHIR Encounter, export)
		},
		collCallInvites: {
			unique(key("hash", 1)),
			plain(key("callId", 1, "createdAt", 1)),
			plain(key("guestHash", 1)),
		},
		collCallTickets: {
			plain(key("expiresAt", 1)),
		},
		// Booking.
		collSessions: {
			plain(key("clinicianId", 1, "status", 1, "start", 1)),
			plain(key("practiceId", 1, "start", 1, "_id", 1)),
		},
		collSlots: {
			plain(key("practiceId", 1, "status", 1, "start", 1, "_id", 1)),
			plain(key("sessionId", 1, "start", 1)),
			plain(key("status", 1, "heldAt", 1)),
		},
		collAppointments: {
			plain(key("patientId", 1, "start", 1, "_id", 1)),
			plain(key("patientId", 1, "updatedAt", 1, "_id", 1)),
			plain(key("practiceId", 1, "start", 1, "_id", 1)),
			plain(key("clinicianId", 1, "start", 1, "_id", 1)),
			plain(key("status", 1, "start", 1)),
		},
		collInvitations: {
			plain(key("patientId", 1, "createdAt", -1, "_id", -1)),
		},
		collNotifications: {
			plain(key("userId", 1, "createdAt", -1, "_id", -1)),
			plain(key("patientId", 1, "createdAt", -1, "_id", -1)),
		},
	}
}

// ensureIndexes creates any missing index. Creating an index that exists with the same keys
// and options does nothing, so this runs at every start. Each index goes in its own
// createIndexes command: FerretDB v1.24 panics (and drops the connection) on a command that
// names two or more indexes that exist already, because it removes them from its to-do list by
// their position in the original list.
func (db *DB) ensureIndexes(ctx context.Context) error {
	for coll, ms := range indexes() {
		for _, m := range ms {
			if _, err := db.collection(coll).Indexes().CreateOne(ctx, m); err != nil {
				return wrapErr(coll+".createIndexes", err)
			}
		}
	}
	return nil
}
