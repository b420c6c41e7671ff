package clinical

import "testing"

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"9434765919", true},    // CLINICAL.md's worked example
		{"943 476 5919", true},  // printed form
		{"9434765918", false},   // wrong check digit
		{"943476591", false},    // nine digits
		{"94347659190", false},  // eleven digits
		{"94347659a9", false},   // a letter
		{"943-476-5919", false}, // dashes are not the printed form
		{"", false},
		// 999000001?: 9*10+9*9+9*8+1*2 = 245; 245 mod 11 = 3; check 8.
		{"9990000018", true},
		// 999000002?: 90+81+72+2*2 = 247; 247 mod 11 = 5; check 6.
		{"9990000026", true},
		{"9990000027", false},
	}
	for _, tt := range tests {
		if got := ValidNHSNumber(tt.in); got != tt.want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNHSNumberCheckValues(t *testing.T) {
	// remainder 0 -> check 11 -> 0: 999000010?: 90+81+72+1*3 = 246; 246 mod 11 = 4 -> 7.
	// Find by search a prefix with remainder 0 and one with remainder 1 (check 10, invalid).
	var sawZero, sawTen bool
	for n := 0; n < 1000 && !(sawZero && sawTen); n++ {
		prefix := []byte("999000000")
		prefix[6], prefix[7], prefix[8] = byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10)
		sum := 0
		for i := 0; i < 9; i++ {
			sum += int(prefix[i]-'0') * (10 - i)
		}
		switch sum % 11 {
		case 0:
			sawZero = true
			if !ValidNHSNumber(string(prefix) + "0") {
				t.Errorf("%s0: remainder 0 should give check digit 0", prefix)
			}
		case 1:
			sawTen = true
			for d := byte('0'); d <= '9'; d++ {
				if ValidNHSNumber(string(prefix) + string(d)) {
					t.Errorf("%s%c: check value 10 must make the number invalid", prefix, d)
				}
			}
		}
	}
	if !sawZero || !sawTen {
		t.Fatal("search did not reach both special check values")
	}
}

func TestFormatNHSNumber(t *testing.T) {
	if got, want := FormatNHSNumber("9434765919"), "943 476 5919"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseNHSNumber(t *testing.T) {
	for in, want := range map[string]string{"943 476 5919": "9434765919", "9434765919": "9434765919", "9434765918": "", "94347": ""} {
		got, ok := ParseNHSNumber(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseNHSNumber(%q) = %q, %v; want %q, %v", in, got, ok, want, want != "")
		}
	}
}
