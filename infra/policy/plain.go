package policy

import (
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Plain turns a property value into the plain value JSON would hold:
// secrets become SecretMarker, unknowns UnknownMarker, resource references
// their URN, assets and archives their path, text or URI.
func Plain(v resource.PropertyValue) any {
	switch {
	case v.IsNull():
		return nil
	case v.IsSecret():
		return SecretMarker
	case v.IsComputed():
		return UnknownMarker
	case v.IsOutput():
		o := v.OutputValue()
		switch {
		case o.Secret:
			return SecretMarker
		case !o.Known:
			return UnknownMarker
		}
		return Plain(o.Element)
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = Plain(e)
		}
		return out
	case v.IsObject():
		return PlainMap(v.ObjectValue())
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsAsset():
		a := v.AssetValue()
		switch {
		case a.Path != "":
			return a.Path
		case a.URI != "":
			return a.URI
		}
		return a.Text
	case v.IsArchive():
		a := v.ArchiveValue()
		if a.Path != "" {
			return a.Path
		}
		return a.URI
	}
	return UnknownMarker
}

// PlainMap applies Plain to every property of m, leaving out Pulumi's
// internal "__" keys.
func PlainMap(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(k) >= 2 && k[:2] == "__" {
			continue
		}
		out[k] = Plain(m[resource.PropertyKey(k)])
	}
	return out
}
