package difftest

import (
	"encoding/json"
	"sort"
)

// bdevView is what the generator reads of one bdev_get_bdevs element
// (normalized: UUIDs are tokens).
type bdevView struct {
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases"`
	ProductName string   `json:"product_name"`
	BlockSize   uint64   `json:"block_size"`
	NumBlocks   uint64   `json:"num_blocks"`
	UUID        string   `json:"uuid"`
	Claimed     bool     `json:"claimed"`
	ClaimType   string   `json:"claim_type"`
	Driver      struct {
		Lvol *struct {
			LvsUUID      string   `json:"lvol_store_uuid"`
			Thin         bool     `json:"thin_provision"`
			Snapshot     bool     `json:"snapshot"`
			Clone        bool     `json:"clone"`
			BaseSnapshot string   `json:"base_snapshot"`
			Clones       []string `json:"clones"`
			EsnapClone   bool     `json:"esnap_clone"`
			External     string   `json:"external_snapshot_name"`
		} `json:"lvol"`
		Split *struct {
			BaseBdev string `json:"base_bdev"`
		} `json:"split"`
		Passthru *struct {
			BaseBdevName string `json:"base_bdev_name"`
		} `json:"passthru"`
		Aio *struct {
			Filename string `json:"filename"`
		} `json:"aio"`
		Raid *struct {
			Level string `json:"raid_level"`
			Bases []struct {
				Name *string `json:"name"`
			} `json:"base_bdevs_list"`
		} `json:"raid"`
	} `json:"driver_specific"`
}

func (b *bdevView) size() uint64 { return b.BlockSize * b.NumBlocks }

type lvstoreView struct {
	UUID         string `json:"uuid"`
	Name         string `json:"name"`
	BaseBdev     string `json:"base_bdev"`
	DataClusters uint64 `json:"total_data_clusters"`
	FreeClusters uint64 `json:"free_clusters"`
	BlockSize    uint64 `json:"block_size"`
	ClusterSize  uint64 `json:"cluster_size"`
}

type lvolView struct {
	Alias     string `json:"alias"`
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	Thin      bool   `json:"is_thin_provisioned"`
	Snapshot  bool   `json:"is_snapshot"`
	Clone     bool   `json:"is_clone"`
	Esnap     bool   `json:"is_esnap_clone"`
	Degraded  bool   `json:"is_degraded"`
	Allocated uint64 `json:"num_allocated_clusters"`
	Lvs       struct {
		Name string `json:"name"`
		UUID string `json:"uuid"`
	} `json:"lvs"`
}

// view is one side's whole state, normalized, and what the generator
// learnt that the listings do not show.
type view struct {
	bdevs       []bdevView
	stores      []lvstoreView
	lvols       []lvolView
	wedged      map[string]bool // UUID tokens of wedged lvols
	readOnly    map[string]bool // UUID tokens of lvols set read-only
	emptySplits map[string]bool // UUID tokens of bases of splits with no part
}

// parseView reads the three normalized listings ({"result": [...]}).
func parseView(bdevs, stores, lvols string) (view, error) {
	var v view
	for _, x := range []struct {
		s   string
		dst any
	}{{bdevs, &v.bdevs}, {stores, &v.stores}, {lvols, &v.lvols}} {
		var r struct{ Result json.RawMessage }
		if err := json.Unmarshal([]byte(x.s), &r); err != nil {
			return v, err
		}
		if err := json.Unmarshal(r.Result, x.dst); err != nil {
			return v, err
		}
	}
	return v, nil
}

func (v *view) bdev(name string) (*bdevView, bool) {
	for i := range v.bdevs {
		if v.bdevs[i].Name == name {
			return &v.bdevs[i], true
		}
	}
	for i := range v.bdevs {
		for _, a := range v.bdevs[i].Aliases {
			if a == name {
				return &v.bdevs[i], true
			}
		}
	}
	return nil, false
}

func (v *view) bdevByUUID(u string) (*bdevView, bool) {
	for i := range v.bdevs {
		if v.bdevs[i].UUID == u {
			return &v.bdevs[i], true
		}
	}
	return nil, false
}

func (v *view) store(uuidOrName string) (*lvstoreView, bool) {
	for i := range v.stores {
		if v.stores[i].UUID == uuidOrName || v.stores[i].Name == uuidOrName {
			return &v.stores[i], true
		}
	}
	return nil, false
}

// lvolsOf returns the lvols of the lvstore with UUID u.
func (v *view) lvolsOf(u string) []lvolView {
	var out []lvolView
	for _, l := range v.lvols {
		if l.Lvs.UUID == u {
			out = append(out, l)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
