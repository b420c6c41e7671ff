package auth

import "careway/models"

// CanViewPopulation decides whether a may see the population view of practice (registers,
// blood pressure control, red alerts, overdue reviews, who has stopped recording): clinicians
// of that practice only. It is clinical data about many patients at once, so administrators,
// who never see clinical data, are refused, as are patients and care-home staff. Returns nil or
// an EFORBIDDEN *models.Error.
func CanViewPopulation(a Actor, practice models.PracticeID) error {
	if a.Role != models.RoleClinician {
		return forbidden("Only clinicians can see a practice's population view.")
	}
	if a.PracticeID == "" || practice == "" || a.PracticeID != practice {
		return forbidden("Clinicians can only see the population view of their own practice.")
	}
	return nil
}
