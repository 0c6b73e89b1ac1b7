// Package cfn reads CloudFormation (and SAM) templates written in YAML into the JSON form that
// CloudFormation itself takes, turning the short-form intrinsic tags (!Ref, !GetAtt, !Sub, ...)
// into their long forms, exactly as CloudFormation does. It is local-only tooling, used by the
// cloud rehearsal and the template tests; the deployed function never imports it.
package cfn

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeYAML parses a template written in YAML and returns it as JSON-shaped Go values
// (map[string]any, []any, string, int, float64, bool, nil).
//
// goformation's own YAML reader is not used here: it turns `!GetAtt A.B` into the string "A.B"
// where CloudFormation's JSON form, and engines reading it, expect ["A", "B"].
func DecodeYAML(src []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("parse template: not a single YAML document")
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template: the document is a %T, not a mapping", v)
	}
	return m, nil
}

func convert(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return convert(n.Alias)
	}
	if name, ok := strings.CutPrefix(n.Tag, "!"); ok && !strings.HasPrefix(name, "!") {
		return intrinsic(name, n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
}

// intrinsic returns the long form of the short-form intrinsic !name applied to n.
func intrinsic(name string, n *yaml.Node) (any, error) {
	var arg any
	if n.Kind == yaml.ScalarNode {
		arg = n.Value // the argument of a tagged scalar is its text
	} else {
		untagged := *n
		untagged.Tag = ""
		v, err := convert(&untagged)
		if err != nil {
			return nil, err
		}
		arg = v
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: arg}, nil
	case "GetAtt":
		// The short form names resource and attribute with a dot; the attribute may hold more.
		if s, ok := arg.(string); ok {
			resource, attribute, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q names no attribute", n.Line, s)
			}
			arg = []any{resource, attribute}
		}
	}
	return map[string]any{"Fn::" + name: arg}, nil
}
