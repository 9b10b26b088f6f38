package audit

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// validDateTime reports whether s is a "date-time" as the JSON Schema
// validator (github.com/santhosh-tekuri/jsonschema/v6, format.go,
// Apache-2.0) asserts it: the compiled validators MUST accept exactly the
// strings it accepts, quirks included (strconv.Atoi takes a sign, fraction
// digits are unbounded, a leap second is allowed at 23:59 after the
// offset), so this is its code, reduced to a bool (its splits made
// without allocating). The differential fuzz test holds the two together.
func validDateTime(s string) bool {
	// min: yyyy-mm-ddThh:mm:ssZ
	if len(s) < 20 {
		return false
	}
	if s[10] != 't' && s[10] != 'T' {
		return false
	}
	if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
		return false
	}
	return validTime(s[11:]) == nil
}

var errTime = errors.New("invalid time")

// validTime is the validator's validateTime (RFC 3339 full-time).
func validTime(str string) error {
	// min: hh:mm:ssZ
	if len(str) < 9 {
		return errTime
	}
	if str[2] != ':' || str[5] != ':' {
		return errTime
	}

	// parse hh:mm:ss (str[2] and str[5] are the colons; a third one in
	// str[6:8] fails Atoi, as it did splitting str[:8] in three at ":")
	var hms [3]int
	for k, tok := range [3]string{str[0:2], str[3:5], str[6:8]} {
		i, err := strconv.Atoi(tok)
		if err != nil {
			return errTime
		}
		if i < 0 {
			return errTime
		}
		hms[k] = i
	}
	h, m, s := hms[0], hms[1], hms[2]
	if h > 23 || m > 59 || s > 60 {
		return errTime
	}
	str = str[8:]

	// parse sec-frac if present
	if rem, ok := strings.CutPrefix(str, "."); ok {
		numDigits := 0
		for _, ch := range rem {
			if ch >= '0' && ch <= '9' {
				numDigits++
			} else {
				break
			}
		}
		if numDigits == 0 {
			return errTime
		}
		str = rem[numDigits:]
	}

	if str != "z" && str != "Z" {
		// parse time-numoffset
		if len(str) != 6 {
			return errTime
		}
		var sign int
		switch str[0] {
		case '+':
			sign = -1
		case '-':
			sign = +1
		default:
			return errTime
		}
		str = str[1:]
		if str[2] != ':' {
			return errTime
		}

		var zhm []int
		for _, tok := range strings.SplitN(str, ":", 2) {
			i, err := strconv.Atoi(tok)
			if err != nil {
				return errTime
			}
			if i < 0 {
				return errTime
			}
			zhm = append(zhm, i)
		}
		zh, zm := zhm[0], zhm[1]
		if zh > 23 || zm > 59 {
			return errTime
		}

		// apply timezone
		hm := (h*60 + m) + sign*(zh*60+zm)
		if hm < 0 {
			hm += 24 * 60
		}
		h, m = hm/60, hm%60
	}

	// check leap second
	if s >= 60 && (h != 23 || m != 59) {
		return errTime
	}

	return nil
}
