package guard

import (
	"bytes"
	"encoding/json"
	"testing"
)

// What the guard forwards reads back as the params it judged.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{`{"name":"lvs0/a"}`, `{"a":1,"b":[1,{"c":"d"}]}`, `{"name":"x","name":"y"}`, `null`, ``, `[1]`, `{"n":"\u00e9\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParseParams(raw)
		if err != nil {
			return
		}
		enc := p.Encode()
		if enc == nil {
			return
		}
		q, err := ParseParams(enc)
		if err != nil {
			t.Fatalf("forwarded params %s do not parse: %v", enc, err)
		}
		if !bytes.Equal(q.Encode(), enc) {
			t.Fatalf("encoding is not stable: %s then %s", enc, q.Encode())
		}
		for _, m := range p.members {
			a, okA, errA := p.String(m.key)
			b, okB, errB := q.String(m.key)
			if okA != okB || (errA == nil) != (errB == nil) || a != b {
				t.Fatalf("member %q reads %q/%v/%v before and %q/%v/%v after", m.key, a, okA, errA, b, okB, errB)
			}
		}
	})
}

// Any listing decodes or fails cleanly; a decoded one can be decided on.
func FuzzNewState(f *testing.F) {
	f.Add([]byte(`[{"name":"M0","claimed":true,"driver_specific":{"split":{"base_bdev":"M0"}}}]`), []byte(`[{"uuid":"u","name":"lvs","base_bdev":"M0"}]`), []byte(`[{"uuid":"x","name":"a","lvs":{"name":"lvs","uuid":"u"}}]`))
	f.Add([]byte(`[{"name":"a","driver_specific":{"lvol":{"lvol_store_uuid":"u","base_snapshot":"a","clones":["a"]}}}]`), []byte(`[]`), []byte(`[{"uuid":"a","name":"a","lvs":{"name":"","uuid":"u"}}]`))
	f.Fuzz(func(t *testing.T, bdevs, stores, lvols []byte) {
		s, err := NewState(Read{Bdevs: bdevs, Lvstores: stores, Lvols: lvols})
		if err != nil {
			return
		}
		for _, b := range s.Bdevs() {
			params, _ := json.Marshal(map[string]string{"name": b.Name, "lvol_name": b.Name, "parent_name": b.Name})
			for _, m := range []string{"bdev_lvol_delete", "bdev_malloc_delete", "bdev_lvol_set_parent_bdev", "bdev_lvol_decouple_parent"} {
				_ = Decide(m, params, Env{State: s})
			}
			_ = s.Dependents(s.objOf(b))
		}
	})
}

// No params make a check panic, and an allowed call forwards valid params.
func FuzzDecide(f *testing.F) {
	f.Add("bdev_lvol_delete", []byte(`{"name":"lvsR/esA"}`))
	f.Add("bdev_lvol_set_parent", []byte(`{"lvol_name":"lvsR/snapA","parent_name":"lvsR/vA"}`))
	f.Add("bdev_split_delete", []byte(`{"base_bdev":"M0"}`))
	f.Add("bdev_lvol_resize", []byte(`{"name":"lvsA/v1","size_in_mib":-1}`))
	s := stackState(f)
	f.Fuzz(func(t *testing.T, method string, raw []byte) {
		d := Decide(method, raw, Env{State: s})
		if d.Allowed && d.Forward != nil && !json.Valid(d.Forward) {
			t.Fatalf("forwards invalid JSON %s", d.Forward)
		}
		if !d.Allowed && d.Rule == "" {
			t.Fatalf("a refusal without a rule: %+v", d)
		}
	})
}

func FuzzCheckNumbers(f *testing.F) {
	for _, s := range []string{`{"a":0e7777777777777777}`, `{"a":1e3}`, `{"name":"x1e9"}`, `[1.5E+1001]`, `{"a":[{"b":0.0e-99999}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := CheckNumbers(raw)
		if err == nil {
			return
		}
		if !json.Valid(raw) && !bytes.Contains(raw, []byte("e")) && !bytes.Contains(raw, []byte("E")) {
			t.Fatalf("refused %q, which holds no exponent", raw)
		}
	})
}
