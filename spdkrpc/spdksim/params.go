package spdksim

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// paramType is a JSON decoder of SPDK's spdk_json_decode_* family.
type paramType int

const (
	tString paramType = iota
	tBool
	tUint32
	tUint64
	tInt32
	tUUID
	tStrings
)

// paramSpec is one member of a method's parameter object.
type paramSpec struct {
	name     string
	typ      paramType
	required bool
}

func req(name string, t paramType) paramSpec { return paramSpec{name: name, typ: t, required: true} }
func opt(name string, t paramType) paramSpec { return paramSpec{name: name, typ: t} }

// paramSpecs gives every implemented method's parameters, as SPDK v26.05
// declares them (SPDK's schema.yaml, from which its decoders are generated). A method absent from this
// table takes no parameters at all.
var paramSpecs = map[string][]paramSpec{
	"rpc_get_methods": {opt("current", tBool), opt("include_aliases", tBool)},
	"bdev_get_bdevs":  {opt("name", tString), opt("timeout", tUint64)},
	"bdev_get_iostat": {opt("names", tStrings), opt("per_channel", tBool), opt("reset_mode", tString)},
	"bdev_malloc_create": {opt("name", tString), req("block_size", tUint32), req("num_blocks", tUint64),
		opt("uuid", tUUID), opt("optimal_io_boundary", tUint32), opt("md_size", tUint32),
		opt("md_interleave", tBool), opt("dif_type", tInt32), opt("dif_is_head_of_md", tBool),
		opt("physical_block_size", tUint32), opt("dif_pi_format", tUint32), opt("numa_id", tInt32)},
	"bdev_malloc_delete": {req("name", tString)},
	"bdev_aio_create": {req("name", tString), req("filename", tString), opt("block_size", tUint32),
		opt("readonly", tBool), opt("fallocate", tBool), opt("uuid", tUUID), opt("nowait", tBool)},
	"bdev_aio_delete":      {req("name", tString)},
	"bdev_split_create":    {req("base_bdev", tString), req("split_count", tUint32), opt("split_size_mb", tUint64)},
	"bdev_split_delete":    {req("base_bdev", tString)},
	"bdev_passthru_create": {req("base_bdev_name", tString), req("name", tString), opt("uuid", tUUID)},
	"bdev_passthru_delete": {req("name", tString)},
	"bdev_raid_create": {req("name", tString), opt("strip_size_kb", tUint32), req("raid_level", tString),
		req("base_bdevs", tStrings), opt("uuid", tUUID), opt("superblock", tBool)},
	"bdev_raid_delete":           {req("name", tString), opt("clear_sb", tBool)},
	"bdev_raid_remove_base_bdev": {req("name", tString)},
	"notify_get_notifications":   {opt("id", tUint64), opt("max", tUint64)},
	"bdev_lvol_create_lvstore": {req("bdev_name", tString), req("lvs_name", tString), opt("cluster_sz", tUint32),
		opt("clear_method", tString), opt("num_md_pages_per_cluster_ratio", tUint32), opt("md_page_size", tUint32)},
	"bdev_lvol_delete_lvstore": {opt("uuid", tString), opt("lvs_name", tString)},
	"bdev_lvol_get_lvstores":   {opt("uuid", tString), opt("lvs_name", tString)},
	"bdev_lvol_rename_lvstore": {req("old_name", tString), req("new_name", tString)},
	"bdev_lvol_grow_lvstore":   {opt("uuid", tString), opt("lvs_name", tString)},
	"bdev_lvol_create": {req("lvol_name", tString), req("size_in_mib", tUint64), opt("thin_provision", tBool),
		opt("uuid", tString), opt("lvs_name", tString), opt("clear_method", tString)},
	"bdev_lvol_snapshot":           {req("lvol_name", tString), req("snapshot_name", tString)},
	"bdev_lvol_clone":              {req("snapshot_name", tString), req("clone_name", tString)},
	"bdev_lvol_clone_bdev":         {req("bdev", tString), req("lvs_name", tString), req("clone_name", tString)},
	"bdev_lvol_rename":             {req("old_name", tString), req("new_name", tString)},
	"bdev_lvol_resize":             {req("name", tString), req("size_in_mib", tUint64)},
	"bdev_lvol_set_read_only":      {req("name", tString)},
	"bdev_lvol_delete":             {req("name", tString)},
	"bdev_lvol_inflate":            {req("name", tString)},
	"bdev_lvol_decouple_parent":    {req("name", tString)},
	"bdev_lvol_get_lvols":          {opt("lvs_uuid", tString), opt("lvs_name", tString)},
	"bdev_lvol_set_parent":         {req("lvol_name", tString), req("parent_name", tString)},
	"bdev_lvol_set_parent_bdev":    {req("lvol_name", tString), req("parent_name", tString)},
	"bdev_lvol_start_shallow_copy": {req("src_lvol_name", tString), req("dst_bdev_name", tString)},
	"bdev_lvol_check_shallow_copy": {req("operation_id", tUint32)},
}

// decodeErrors holds the methods whose parameter decoding fails with an
// answer of their own instead of errDecode.
var decodeErrors = map[string]error{
	"bdev_split_create":          msgErr(spdkrpc.CodeInvalidParams, "Invalid parameters"),
	"bdev_split_delete":          msgErr(spdkrpc.CodeInvalidParams, "Invalid parameters"),
	"bdev_raid_create":           msgErr(spdkrpc.CodeParseError, "spdk_json_decode_object failed"),
	"bdev_raid_delete":           msgErr(spdkrpc.CodeParseError, "spdk_json_decode_object failed"),
	"bdev_raid_remove_base_bdev": msgErr(spdkrpc.CodeParseError, "spdk_json_decode_object failed"),
}

// params holds decoded parameters: string, bool, uint64 or int64 values.
type params map[string]any

func (p params) str(k string) string    { s, _ := p[k].(string); return s }
func (p params) boolean(k string) bool  { b, _ := p[k].(bool); return b }
func (p params) uint(k string) uint64   { u, _ := p[k].(uint64); return u }
func (p params) strs(k string) []string { s, _ := p[k].([]string); return s }

// given says whether the request had a params member at all (SPDK tells
// an absent one from {}).
func (p params) given() bool { return p.has(paramsGiven) }

// paramsGiven is the key decodeParams marks a present params member with.
const paramsGiven = "\x00given"

func (p params) has(k string) bool { _, ok := p[k]; return ok }
func (p params) strOK(k string) (string, bool) {
	s, ok := p[k].(string)
	return s, ok
}

// decodeParams decodes raw against specs the way spdk_json_decode_object
// does: params must be an object, every member must be declared and of the
// declared type, every required member must be present. Any failure is one
// and the same error, as in SPDK.
func decodeParams(raw json.RawMessage, specs []paramSpec) (params, bool) {
	p := params{}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		for _, s := range specs {
			if s.required {
				return nil, false
			}
		}
		return p, true
	}
	var members map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &members) != nil {
		return nil, false
	}
	p[paramsGiven] = true
	for k, v := range members {
		var spec *paramSpec
		for i := range specs {
			if specs[i].name == k {
				spec = &specs[i]
				break
			}
		}
		if spec == nil {
			return nil, false
		}
		val, ok := decodeValue(v, spec.typ)
		if !ok {
			return nil, false
		}
		p[k] = val
	}
	for _, s := range specs {
		if s.required && !p.has(s.name) {
			return nil, false
		}
	}
	return p, true
}

func decodeValue(v json.RawMessage, t paramType) (any, bool) {
	switch t {
	case tString, tUUID:
		if len(v) == 0 || v[0] != '"' {
			return nil, false
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		if t == tUUID {
			if _, err := uuid.Parse(s); err != nil {
				return nil, false
			}
		}
		return s, true
	case tStrings:
		var ss []string
		if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &ss) != nil {
			return nil, false
		}
		return ss, true
	case tBool:
		switch string(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return nil, false
	case tUint32, tUint64:
		bits := 64
		if t == tUint32 {
			bits = 32
		}
		u, err := strconv.ParseUint(string(v), 10, bits)
		if err != nil || !plainInteger(v) {
			return nil, false
		}
		return u, true
	case tInt32:
		i, err := strconv.ParseInt(string(v), 10, 32)
		if err != nil {
			return nil, false
		}
		return i, true
	}
	return nil, false
}

// plainInteger rejects what ParseUint accepts but JSON does not ("+1", "01").
func plainInteger(v []byte) bool {
	if len(v) == 0 || v[0] == '+' || (len(v) > 1 && v[0] == '0') {
		return false
	}
	return true
}
