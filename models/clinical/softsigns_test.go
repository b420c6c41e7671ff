package clinical

import (
	"testing"

	"careway/models"
)

func TestSymptom(t *testing.T) {
	r := Symptom([]string{"new_confusion", "fall"}, "")
	if r.Level != LevelAmber || r.RuleID != "restore2.soft-signs" || r.Advice == "" {
		t.Errorf("soft signs: %+v", r)
	}
	r = Symptom(nil, "headache since this morning")
	if r.Level != LevelAmber || r.RuleID != "symptom.reported" {
		t.Errorf("free text: %+v", r)
	}
	for _, s := range SoftSigns {
		if !ValidSoftSign(s) {
			t.Errorf("%s not valid", s)
		}
	}
	if ValidSoftSign("chest pain") {
		t.Error("free text accepted as a soft sign")
	}
}

func TestSmokingStatus(t *testing.T) {
	tests := []struct {
		status string
		level  Level
		rule   string
	}{
		{"current", LevelAmber, "smoking.current"},
		{"former", LevelNormal, "smoking.status"},
		{"never", LevelNormal, "smoking.status"},
	}
	for _, tt := range tests {
		r, err := SmokingStatus(tt.status)
		if err != nil || r.Level != tt.level || r.RuleID != tt.rule {
			t.Errorf("SmokingStatus(%q) = %+v, %v", tt.status, r, err)
		}
	}
	_, err := SmokingStatus("sometimes")
	if models.ErrorCode(err) != models.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
}
