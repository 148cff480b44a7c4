package spdkrpc

import "testing"

func TestIsUUID(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"800da8bc-906e-491c-b27d-26686b407e9b", true},
		{"800DA8BC-906E-491C-B27D-26686B407E9B", true}, // SPDK parses either case
		{"800da8bc906e491cb27d26686b407e9b", false},
		{"800da8bc-906e-491c-b27d-26686b407e9", false},
		{"800da8bc-906e-491c-b27d_26686b407e9b", false},
		{"g00da8bc-906e-491c-b27d-26686b407e9b", false},
		{"lvs0/vol1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsUUID(tt.s); got != tt.want {
			t.Errorf("IsUUID(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
