package spdkserver

// The scanner of Splitter: a byte-at-a-time JSON syntax checker that keeps
// its state between writes, so a value split anywhere is resumed, not
// rescanned.

// scanState says what the scanner expects at the next byte.
type scanState uint8

const (
	stValue       scanState = iota // a value (whitespace before it is skipped)
	stArrayFirst                   // a value or ']' right after '['
	stObjectFirst                  // a member name or '}' right after '{'
	stName                         // a member name after ','
	stColon                        // ':' after a member name
	stAfter                        // ',' or the closing bracket after a member value
	stString                       // inside a string
	stEscape                       // after '\' in a string
	stUnicode                      // inside the hex digits of \uXXXX
	stLiteral                      // inside true, false or null
	stMinus                        // after the '-' of a number
	stZero                         // after a leading 0
	stInt                          // in the integer digits
	stDot                          // after the decimal point
	stFrac                         // in the fraction digits
	stExp                          // after 'e' or 'E'
	stExpSign                      // after the exponent's sign
	stExpDigits                    // in the exponent digits
)

// step scans one byte. done means the top-level value ends before this byte
// (a number) or with it (anything else); in the first case s.pos is left
// at the byte so that take() excludes it.
func (s *Splitter) step(c byte) (done bool, err error) {
	switch s.state {
	case stValue:
		if isSpace(c) {
			return false, nil
		}
		return s.beginValue(c)
	case stArrayFirst:
		if isSpace(c) {
			return false, nil
		}
		if c == ']' {
			return s.closeContainer('[')
		}
		return s.beginValue(c)
	case stObjectFirst, stName:
		switch {
		case isSpace(c):
			return false, nil
		case c == '}' && s.state == stObjectFirst:
			return s.closeContainer('{')
		case c == '"':
			s.values++
			s.inName = true
			s.state = stString
			return false, nil
		}
		return false, ErrSyntax
	case stColon:
		switch {
		case isSpace(c):
			return false, nil
		case c == ':':
			s.state = stValue
			return false, nil
		}
		return false, ErrSyntax
	case stAfter:
		top := s.stack[len(s.stack)-1]
		switch {
		case isSpace(c):
			return false, nil
		case c == ',' && top == '{':
			s.state = stName
			return false, nil
		case c == ',':
			s.state = stValue
			return false, nil
		case c == '}' && top == '{', c == ']' && top == '[':
			return s.closeContainer(top)
		}
		return false, ErrSyntax
	case stString, stEscape, stUnicode:
		return s.stepString(c)
	case stLiteral:
		if c != s.lit[0] {
			return false, ErrSyntax
		}
		s.lit = s.lit[1:]
		if s.lit == "" {
			done = s.endValue()
			if done {
				s.pos++
			}
			return done, nil
		}
		return false, nil
	}
	return s.stepNumber(c)
}

// beginValue starts a value at byte c.
func (s *Splitter) beginValue(c byte) (bool, error) {
	s.values++
	switch c {
	case '{':
		s.stack = append(s.stack, '{')
		s.state = stObjectFirst
	case '[':
		s.stack = append(s.stack, '[')
		s.state = stArrayFirst
	case '"':
		s.inName = false
		s.state = stString
	case 't':
		s.lit, s.state = "rue", stLiteral
	case 'f':
		s.lit, s.state = "alse", stLiteral
	case 'n':
		s.lit, s.state = "ull", stLiteral
	case '-':
		s.state = stMinus
	case '0':
		s.state = stZero
	default:
		if c < '1' || c > '9' {
			return false, ErrSyntax
		}
		s.state = stInt
	}
	return false, nil
}

// closeContainer ends the innermost container, which must be open.
func (s *Splitter) closeContainer(open byte) (bool, error) {
	if len(s.stack) == 0 || s.stack[len(s.stack)-1] != open {
		return false, ErrSyntax
	}
	s.stack = s.stack[:len(s.stack)-1]
	s.values++
	done := s.endValue()
	if done {
		s.pos++
	}
	return done, nil
}

func (s *Splitter) stepString(c byte) (bool, error) {
	switch s.state {
	case stEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.state = stString
		case 'u':
			s.state, s.hex = stUnicode, 4
		default:
			return false, ErrSyntax
		}
		return false, nil
	case stUnicode:
		if !isHex(c) {
			return false, ErrSyntax
		}
		if s.hex--; s.hex == 0 {
			s.state = stString
		}
		return false, nil
	}
	switch {
	case c == '"':
		if s.inName {
			s.inName = false
			s.state = stColon
			return false, nil
		}
		done := s.endValue()
		if done {
			s.pos++
		}
		return done, nil
	case c == '\\':
		s.state = stEscape
	case c < 0x20:
		return false, ErrSyntax
	}
	return false, nil
}

// stepNumber scans a byte in a number. A byte that cannot continue the
// number ends it and is scanned again in the new state.
func (s *Splitter) stepNumber(c byte) (bool, error) {
	digit := c >= '0' && c <= '9'
	switch s.state {
	case stMinus:
		switch {
		case c == '0':
			s.state = stZero
		case digit:
			s.state = stInt
		default:
			return false, ErrSyntax
		}
		return false, nil
	case stInt, stZero:
		switch {
		case digit && s.state == stInt:
			return false, nil
		case c == '.':
			s.state = stDot
			return false, nil
		case c == 'e' || c == 'E':
			s.state = stExp
			return false, nil
		}
	case stDot:
		if !digit {
			return false, ErrSyntax
		}
		s.state = stFrac
		return false, nil
	case stFrac:
		switch {
		case digit:
			return false, nil
		case c == 'e' || c == 'E':
			s.state = stExp
			return false, nil
		}
	case stExp:
		switch {
		case c == '+' || c == '-':
			s.state = stExpSign
		case digit:
			s.state = stExpDigits
		default:
			return false, ErrSyntax
		}
		return false, nil
	case stExpSign:
		if !digit {
			return false, ErrSyntax
		}
		s.state = stExpDigits
		return false, nil
	case stExpDigits:
		if digit {
			return false, nil
		}
	}
	// The number ended before c. A digit after a leading zero lands here
	// too: inside a container it fails in stAfter, at the top level "01"
	// is two values, as it is for SPDK's parser.
	if s.endValue() {
		return true, nil
	}
	return s.step(c)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
