package diskid

import (
	"fmt"
	"regexp"
	"testing"
)

func TestComponentName(t *testing.T) {
	const disk DiskUUID = "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b"
	a := ComponentName("backing-image-manager", "d41d8cd98f00b204e9800998ecf8427e", disk, DefaultNameHashLen)
	if !regexp.MustCompile(`^backing-image-manager-[0-9a-f]{16}$`).MatchString(a) {
		t.Fatalf("name %q has the wrong shape", a)
	}
	if b := ComponentName("backing-image-manager", "D41D8CD98F00B204E9800998ECF8427E", disk, DefaultNameHashLen); b != a {
		t.Errorf("checksum case changes the name: %q vs %q", a, b)
	}
	// The incident: same 4-digit prefixes of checksum and disk UUID.
	other := ComponentName("backing-image-manager", "d41d0000000000000000000000000000", "3f2a0000-0000-4000-8000-000000000000", DefaultNameHashLen)
	if other == a {
		t.Errorf("identifiers that share prefixes got the same name %q", a)
	}
	if got := ComponentName("x", "c", disk, 2); len(got) != len("x-")+8 {
		t.Errorf("hexLen below 8 not clamped: %q", got)
	}
	if got := ComponentName("x", "c", disk, 100); len(got) != len("x-")+64 {
		t.Errorf("hexLen above 64 not clamped: %q", got)
	}
	// No two of many pairs collide at 16 digits.
	seen := map[string]string{}
	for i := range 20000 {
		pair := fmt.Sprint(i%200, "/", i/200)
		n := ComponentName("m", fmt.Sprintf("%032x", i%200), DiskUUID(fmt.Sprintf("%08x-0000-4000-8000-000000000000", i/200)), DefaultNameHashLen)
		if prev, dup := seen[n]; dup {
			t.Fatalf("pairs %s and %s share name %s", prev, pair, n)
		}
		seen[n] = pair
	}
}
