package policy

import (
	"fmt"
	"strconv"
)

// Inputs reads the plain inputs of a registered resource, or one object
// nested in them, for the rules. The readers never fail: a key that is
// missing or holds another type reads as the zero value. The Require forms
// return an error that names the key by its full path
// ("deploymentCircuitBreaker.enable"), for rules that report it.
type Inputs struct {
	path   string
	values map[string]any
}

// InputsOf returns the inputs of r.
func InputsOf(r Resource) Inputs { return Inputs{values: r.Inputs} }

// NewInputs reads values, a plain object such as one element of a list
// input.
func NewInputs(values map[string]any) Inputs { return Inputs{values: values} }

// Set reports whether the object exists: false for Object of a key that is
// missing or not an object.
func (in Inputs) Set() bool { return in.values != nil }

// Has reports whether key holds a value other than null.
func (in Inputs) Has(key string) bool { return in.values[key] != nil }

// Value returns the plain value at key, nil if absent.
func (in Inputs) Value(key string) any { return in.values[key] }

// Path is the full path of key, for messages: "networkConfiguration.subnets".
func (in Inputs) Path(key string) string {
	if in.path == "" {
		return key
	}
	return in.path + "." + key
}

// Object returns the object at key; it is not Set when key is missing or
// not an object.
func (in Inputs) Object(key string) Inputs {
	m, _ := in.values[key].(map[string]any)
	return Inputs{path: in.Path(key), values: m}
}

// Objects returns the objects of the list at key, skipping other elements.
func (in Inputs) Objects(key string) []Inputs {
	items, _ := in.values[key].([]any)
	out := make([]Inputs, 0, len(items))
	for i, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, Inputs{path: fmt.Sprintf("%s[%d]", in.Path(key), i), values: m})
		}
	}
	return out
}

// Bool returns the boolean at key, false if it is not one.
func (in Inputs) Bool(key string) bool {
	b, _ := in.values[key].(bool)
	return b
}

// Number returns the number at key; ok is false if it is not one.
func (in Inputs) Number(key string) (v float64, ok bool) {
	v, ok = in.values[key].(float64)
	return v, ok
}

// String returns the string at key, "" if it is not one.
func (in Inputs) String(key string) string {
	s, _ := in.values[key].(string)
	return s
}

// Strings returns the value at key as strings: a string is a list of one,
// a list keeps its string elements, anything else is empty.
func (in Inputs) Strings(key string) []string { return Strings(in.values[key]) }

// Len returns the length of the list at key, 0 if it is not a list.
func (in Inputs) Len(key string) int {
	items, _ := in.values[key].([]any)
	return len(items)
}

// Text returns the value at key as a message shows it: "not set" for a
// missing key, numbers without trailing zeros.
func (in Inputs) Text(key string) string {
	switch v := in.values[key].(type) {
	case nil:
		return "not set"
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// RequireString returns the non-empty string at key, or an error that names
// the key and what it holds instead.
func (in Inputs) RequireString(key string) (string, error) {
	v, ok := in.values[key]
	if !ok || v == nil {
		return "", fmt.Errorf("input %s is not set", in.Path(key))
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("input %s is %s, want a non-empty string", in.Path(key), shown(v))
	}
	return s, nil
}

// RequireNumber returns the number at key, or an error that names the key.
func (in Inputs) RequireNumber(key string) (float64, error) {
	v, ok := in.values[key]
	if !ok || v == nil {
		return 0, fmt.Errorf("input %s is not set", in.Path(key))
	}
	n, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("input %s is %s, want a number", in.Path(key), shown(v))
	}
	return n, nil
}

// shown is a value as an error message quotes it: strings quoted.
func shown(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// Strings returns a plain value as strings: a string is a list of one, a
// list keeps its string elements, anything else is empty.
func Strings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
