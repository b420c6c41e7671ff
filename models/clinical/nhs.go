// Package clinical holds Careway's clinical rules as pure functions of values. Each rule follows
// the tables in CLINICAL.md and is tested at every band edge.
package clinical

// ValidNHSNumber reports whether s is a valid NHS number: ten digits (spaces allowed between
// the 3-3-4 groups, as printed) whose tenth digit is the Modulus 11 check digit of the first
// nine (CLINICAL.md, "NHS number"). A check value of 10 makes the number invalid.
func ValidNHSNumber(s string) bool {
	digits, ok := NormalizeNHSNumber(s)
	if !ok {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(digits[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		check = 0
	case 10:
		return false
	}
	return check == int(digits[9]-'0')
}

// ParseNHSNumber returns the ten digits of a valid NHS number given in either printed form, or
// false if it is not one (wrong shape or check digit).
func ParseNHSNumber(s string) (string, bool) {
	digits, ok := NormalizeNHSNumber(s)
	if !ok || !ValidNHSNumber(digits) {
		return "", false
	}
	return digits, true
}

// NormalizeNHSNumber strips the spaces of the printed 3-3-4 form and returns the ten digits, or
// false if s is not ten digits (in one group or in 3-3-4 groups). It does not check the check
// digit.
func NormalizeNHSNumber(s string) (string, bool) {
	if len(s) == 12 && s[3] == ' ' && s[7] == ' ' {
		s = s[:3] + s[4:7] + s[8:]
	}
	if len(s) != 10 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s, true
}

// FormatNHSNumber prints ten digits in the 3-3-4 form used on screen and on letters.
func FormatNHSNumber(digits string) string {
	if len(digits) != 10 {
		return digits
	}
	return digits[:3] + " " + digits[3:6] + " " + digits[6:]
}
