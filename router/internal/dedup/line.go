package dedup

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// header is the first line of an index file; the version changes when the
// line format does.
const header = "ferry-dedup-index v1\n"

// Kinds of index lines.
const (
	// KindWritten: batch ID was written to File, whose size after the
	// batch's last line was End.
	KindWritten = 'w'
	// KindCheckpoint: File's confirmed size is End (a new file before its
	// first write, a file found at start-up, and every file on compaction).
	KindCheckpoint = 'c'
	// kindClosed: the destination closed cleanly; nothing was in flight.
	kindClosed = 'x'
	// kindOpened: a process opened the index; until the next clean close,
	// data past a recorded size may be an unconfirmed write.
	kindOpened = 'o'
)

// Entry is one line of the index.
type Entry struct {
	Kind byte
	Time time.Time
	File string
	End  int64
	ID   string
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// appendLine encodes e as
//
//	<crc32c, 8 hex digits> <kind> <unix ms> <end> <"file"> <"id">\n
//
// The checksum covers the rest of the line: a crash (or power loss) in the
// middle of an append leaves a line that fails to parse, never one that
// parses with a wrong size. File and id are Go-quoted, so any header value
// (spaces, newlines) round-trips.
func appendLine(dst []byte, e Entry) []byte {
	start := len(dst)
	dst = append(dst, "00000000 "...)
	body := len(dst)
	dst = append(dst, e.Kind, ' ')
	dst = strconv.AppendInt(dst, e.Time.UnixMilli(), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, e.End, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendQuote(dst, e.File)
	dst = append(dst, ' ')
	dst = strconv.AppendQuote(dst, e.ID)
	sum := crc32.Checksum(dst[body:], crcTable)
	const digits = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		dst[start+i] = digits[sum&0xf]
		sum >>= 4
	}
	return append(dst, '\n')
}

var errBadLine = errors.New("malformed index line")

// parseLine decodes one line without its newline.
func parseLine(line string) (Entry, error) {
	sumText, body, ok := strings.Cut(line, " ")
	if !ok || len(sumText) != 8 {
		return Entry{}, errBadLine
	}
	sum, err := strconv.ParseUint(sumText, 16, 32)
	if err != nil || uint32(sum) != crc32.Checksum([]byte(body), crcTable) {
		return Entry{}, fmt.Errorf("%w: checksum mismatch", errBadLine)
	}
	fields := strings.SplitN(body, " ", 4)
	if len(fields) != 4 || len(fields[0]) != 1 {
		return Entry{}, errBadLine
	}
	e := Entry{Kind: fields[0][0]}
	switch e.Kind {
	case KindWritten, KindCheckpoint, kindClosed, kindOpened:
	default:
		return Entry{}, fmt.Errorf("%w: unknown kind %q", errBadLine, e.Kind)
	}
	ms, err1 := strconv.ParseInt(fields[1], 10, 64)
	end, err2 := strconv.ParseInt(fields[2], 10, 64)
	if err1 != nil || err2 != nil || end < 0 {
		return Entry{}, errBadLine
	}
	e.Time, e.End = time.UnixMilli(ms), end
	rest := fields[3]
	quotedFile, err := strconv.QuotedPrefix(rest)
	if err != nil || len(rest) < len(quotedFile)+1 || rest[len(quotedFile)] != ' ' {
		return Entry{}, errBadLine
	}
	if e.File, err = strconv.Unquote(quotedFile); err != nil {
		return Entry{}, errBadLine
	}
	if e.ID, err = strconv.Unquote(rest[len(quotedFile)+1:]); err != nil {
		return Entry{}, errBadLine
	}
	return e, nil
}
