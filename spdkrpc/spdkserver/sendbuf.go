package spdkserver

import "log/slog"

// SPDKSendBufMax is the largest answer spdk_tgt v26.05 sends
// (SPDK_JSONRPC_SEND_BUF_SIZE_MAX). A request's send buffer doubles from
// 32 KiB up to it; a write that does not fit then fails, and so does every
// later one, but the request is answered anyway with what the buffer holds:
// the first 32 MiB of the line, with no closing newline. SPDK logs "Send buf
// exceeded maximum size" at each failed write, thousands of lines per
// answer. The client receives a JSON value cut in the middle, and the next
// answer on the connection follows it directly.
const SPDKSendBufMax = 32 << 20

// sendBuf renders the line of an answer within a cap of max bytes (0: no
// cap) as SPDK's send buffers do. A single answer is cut at max. A batch's
// members are appended to the batch's own buffer in the order they
// completed; a member that no longer fits, counting its comma and the
// closing "]\n", is left out.
func sendBuf(log *slog.Logger, method string, parts [][]byte, batch bool, max int) []byte {
	if !batch {
		line := append(parts[0], '\n')
		if max > 0 && len(line) > max {
			log.Error("Send buf exceeded maximum size", "max", max, "method", method, "size", len(line))
			line = line[:max]
		}
		return line
	}
	if max <= 0 {
		return append(joinBatch(parts), '\n')
	}
	out := make([]byte, 0, min(max, 1<<16))
	out = append(out, '[')
	n := 0
	for _, p := range parts {
		// A member longer than max is cut to max by its own buffer and
		// then cannot fit the batch's: it is left out either way.
		need := len(p) + 2
		if n > 0 {
			need++
		}
		if len(out)+need > max {
			log.Error("Failed to append response to batch", "max", max, "size", len(p))
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, p...)
		n++
	}
	return append(out, ']', '\n')
}
