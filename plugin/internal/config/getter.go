package config

import "strings"

// Getter answers the value of one configuration key, or "" when it is not set.
type Getter interface {
	Get(key string) string
}

// MapGetter is a Getter over a map whose keys match without case, as Fluent
// Bit matches the keys of an [OUTPUT] section.
type MapGetter map[string]string

// Get returns the value of key, matched without case.
func (m MapGetter) Get(key string) string {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
