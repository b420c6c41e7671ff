package models

import "testing"

func TestAdjustmentsMerge(t *testing.T) {
	tests := []struct {
		name         string
		booking, rec Adjustments
		want         Adjustments
	}{
		{"nothing recorded", Adjustments{BSL: true, Notes: "n"}, Adjustments{}, Adjustments{BSL: true, Notes: "n"}},
		{"recorded needs hold", Adjustments{}, Adjustments{StepFree: true, Longer: true, CarerAttending: true, BSL: true},
			Adjustments{StepFree: true, Longer: true, CarerAttending: true, BSL: true}},
		{"a booking cannot drop one", Adjustments{StepFree: false, Interpreter: false}, Adjustments{StepFree: true, Interpreter: true, Language: "Polish"},
			Adjustments{StepFree: true, Interpreter: true, Language: "Polish"}},
		{"the booking's language wins", Adjustments{Interpreter: true, Language: "Silesian"}, Adjustments{Interpreter: true, Language: "Polish"},
			Adjustments{Interpreter: true, Language: "Silesian"}},
		{"booking adds an interpreter", Adjustments{Interpreter: true, Language: "Urdu"}, Adjustments{StepFree: true},
			Adjustments{Interpreter: true, Language: "Urdu", StepFree: true}},
		{"notes joined", Adjustments{Notes: "bring letter"}, Adjustments{Notes: "wheelchair"}, Adjustments{Notes: "wheelchair / bring letter"}},
		{"same notes once", Adjustments{Notes: "wheelchair"}, Adjustments{Notes: "wheelchair"}, Adjustments{Notes: "wheelchair"}},
		{"recorded notes only", Adjustments{}, Adjustments{Notes: "wheelchair"}, Adjustments{Notes: "wheelchair"}},
	}
	for _, tt := range tests {
		if got := tt.booking.Merge(tt.rec); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	var none *Patient
	if none.CurrentAdjustments() != (RecordedAdjustments{}) || (&Patient{}).CurrentAdjustments().Version != 0 {
		t.Error("CurrentAdjustments of a patient without any")
	}
}

func TestAdjustmentsValidateFieldNames(t *testing.T) {
	var p Problems
	a := Adjustments{Interpreter: true}
	a.Validate("", &p)
	a.Validate("adjustments", &p)
	if len(p) != 2 || p[0].Field != "language" || p[1].Field != "adjustments.language" {
		t.Errorf("problems = %+v", p)
	}
}
