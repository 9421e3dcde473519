package configstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// fileLayout is the structured form of the config file:
//
//	{"access_keys": {"<key>": {...}}, "revoked_token_ids": ["<jti>"]}
//
// The original seed format, a bare JSON map keyed by access key, is read too.
type fileLayout struct {
	AccessKeys      map[string]*AccessKey `json:"access_keys"`
	RevokedTokenIDs []string              `json:"revoked_token_ids,omitempty"`
}

// ParseError locates a problem in the config file.
type ParseError struct {
	File         string
	Line, Column int
	Err          error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a config file's contents. file only names it in errors.
func Parse(data []byte, file string) (*Snapshot, error) {
	var probe map[string]json.RawMessage
	if err := decodeStrict(data, &probe); err != nil {
		return nil, locate(data, file, err)
	}
	var layout fileLayout
	if _, structured := probe["access_keys"]; structured {
		if err := decodeStrict(data, &layout); err != nil {
			return nil, locate(data, file, err)
		}
	} else if err := decodeStrict(data, &layout.AccessKeys); err != nil {
		return nil, locate(data, file, err)
	}
	snap := &Snapshot{AccessKeys: map[string]*AccessKey{}, RevokedTokenIDs: map[string]bool{}}
	for key, entry := range layout.AccessKeys {
		if entry == nil {
			return nil, &ParseError{File: file, Err: fmt.Errorf("access key %q has no settings; give it at least a tenant", key)}
		}
		if err := entry.applyDefaults(key); err != nil {
			line, col := position(data, keyOffset(data, key))
			return nil, &ParseError{File: file, Line: line, Column: col, Err: err}
		}
		snap.AccessKeys[key] = entry
	}
	for _, id := range layout.RevokedTokenIDs {
		snap.RevokedTokenIDs[id] = true
	}
	return snap, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return offsetError{err: err, offset: dec.InputOffset()}
	}
	if dec.More() {
		return offsetError{err: errors.New("unexpected data after the top-level object"), offset: dec.InputOffset()}
	}
	return nil
}

type offsetError struct {
	err    error
	offset int64
}

func (e offsetError) Error() string { return e.err.Error() }

// locate turns a decoding error into a ParseError with line and column.
func locate(data []byte, file string, err error) error {
	offset := int64(-1)
	var oe offsetError
	if errors.As(err, &oe) {
		offset = oe.offset
		err = oe.err
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		offset = syntaxErr.Offset
	case errors.As(err, &typeErr):
		offset = typeErr.Offset
		err = fmt.Errorf("field %q: expected %s, found a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The decoder reports where it stopped, not where the field is.
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if at := bytes.Index(data, []byte(field)); at >= 0 {
			offset = int64(at)
		}
		err = fmt.Errorf("unknown field %s (a typo?)", field)
	}
	line, col := position(data, offset)
	return &ParseError{File: file, Line: line, Column: col, Err: fmt.Errorf("%w; the file must be a JSON object of access keys (see README, \"Config file\")", err)}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset < 0 {
		return 0, 0
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// keyOffset finds where an access key is defined, for error positions.
func keyOffset(data []byte, key string) int64 {
	quoted, _ := json.Marshal(key)
	return int64(bytes.Index(data, quoted))
}
