package rehearsal

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Template is a CloudFormation template in its JSON form.
type Template map[string]any

// resources returns the template's resources by logical id.
func (t Template) resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	all, _ := t["Resources"].(map[string]any)
	for id, r := range all {
		if m, ok := r.(map[string]any); ok {
			out[id] = m
		}
	}
	return out
}

// resourceType returns the type of resource id, "" when there is none.
func (t Template) resourceType(id string) string {
	typ, _ := t.resources()[id]["Type"].(string)
	return typ
}

// properties returns the properties of resource r, creating the member if needed.
func properties(r map[string]any) map[string]any {
	p, ok := r["Properties"].(map[string]any)
	if !ok {
		p = map[string]any{}
		r["Properties"] = p
	}
	return p
}

// clone returns a deep copy of t.
func (t Template) clone() Template {
	encoded, err := json.Marshal(t)
	if err != nil {
		panic(err) // t came from JSON
	}
	var c Template
	if err := json.Unmarshal(encoded, &c); err != nil {
		panic(err)
	}
	return c
}

// packageCode points every AWS::Serverless::Function's CodeUri at the uploaded artefact, as
// `sam package` (run by `sam deploy`) does after uploading the build output, and returns the
// functions it changed.
func packageCode(t Template, bucket, key string) []string {
	var changed []string
	for id, r := range t.resources() {
		if r["Type"] == "AWS::Serverless::Function" {
			properties(r)["CodeUri"] = "s3://" + bucket + "/" + key
			changed = append(changed, id)
		}
	}
	slices.Sort(changed)
	return changed
}

// Adaptation is one change the rehearsal makes to the expanded template because the local
// engine lacks a feature that CloudFormation has. Each one is printed with its reason; the
// template that ships is never changed.
type Adaptation struct {
	// Resource is the logical id of the changed resource.
	Resource string
	// Property is the changed property.
	Property string
	// From and To are the property's value before and after, as CloudFormation JSON.
	From, To string
	// Reason says what the engine lacks and what the change gives up.
	Reason string
}

// String describes the adaptation on one line.
func (a Adaptation) String() string {
	return fmt.Sprintf("%s.%s: %s -> %s. Why: %s", a.Resource, a.Property, a.From, a.To, a.Reason)
}

// adaptForMoto changes expanded in place where moto cannot create it as written, and returns
// every change made.
func adaptForMoto(expanded Template) []Adaptation {
	var done []Adaptation
	resources := expanded.resources()
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		r := resources[id]
		if r["Type"] != "AWS::Lambda::Permission" {
			continue
		}
		props := properties(r)
		alias, isRef := refName(props["FunctionName"])
		if !isRef || expanded.resourceType(alias) != "AWS::Lambda::Alias" {
			continue
		}
		function, isRef := refName(properties(resources[alias])["FunctionName"])
		if !isRef {
			continue
		}
		from := jsonText(props["FunctionName"])
		props["FunctionName"] = map[string]any{"Fn::GetAtt": []any{function, "Arn"}}
		done = append(done, Adaptation{
			Resource: id, Property: "FunctionName", From: from, To: jsonText(props["FunctionName"]),
			Reason: "moto 5.2.1 has no CloudFormation model of AWS::Lambda::Alias, so a Ref to the alias " +
				"resolves to nothing and creating the permission fails (KeyError: 'FunctionName'). " +
				"In AWS the API may invoke only the alias; here the permission names the function.",
		})
	}
	return done
}

// refName returns the name a {"Ref": name} value refers to, and whether v is one.
func refName(v any) (string, bool) {
	m, _ := v.(map[string]any)
	name, ok := m["Ref"].(string)
	return name, ok && len(m) == 1
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// conditionValues evaluates the template's conditions for the given parameter values (defaults
// where a value is not given). It understands what CloudFormation allows in conditions:
// Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition and Ref to parameters.
func conditionValues(t Template, params map[string]string) (map[string]bool, error) {
	conditions, _ := t["Conditions"].(map[string]any)
	declared, _ := t["Parameters"].(map[string]any)
	values := map[string]bool{}
	var eval func(v any, depth int) (any, error)
	eval = func(v any, depth int) (any, error) {
		if depth > 32 {
			return nil, fmt.Errorf("conditions nest too deeply")
		}
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		for fn, arg := range m {
			args, _ := arg.([]any)
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				if value, ok := params[name]; ok {
					return value, nil
				}
				p, _ := declared[name].(map[string]any)
				if def, ok := p["Default"]; ok {
					return fmt.Sprint(def), nil
				}
				return nil, fmt.Errorf("condition refers to %s, which has no value", name)
			case "Condition":
				name, _ := arg.(string)
				return eval(conditions[name], depth+1)
			case "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not":
				var results []any
				for _, a := range args {
					r, err := eval(a, depth+1)
					if err != nil {
						return nil, err
					}
					results = append(results, r)
				}
				switch fn {
				case "Fn::Equals":
					if len(results) != 2 {
						return nil, fmt.Errorf("Fn::Equals takes two values")
					}
					return fmt.Sprint(results[0]) == fmt.Sprint(results[1]), nil
				case "Fn::Not":
					if len(results) != 1 {
						return nil, fmt.Errorf("Fn::Not takes one condition")
					}
					b, _ := results[0].(bool)
					return !b, nil
				}
				all := fn == "Fn::And"
				for _, r := range results {
					b, _ := r.(bool)
					if all && !b {
						return false, nil
					}
					if !all && b {
						return true, nil
					}
				}
				return all, nil
			}
			return nil, fmt.Errorf("%s is not allowed in a condition", fn)
		}
		return nil, fmt.Errorf("empty condition")
	}
	for name, c := range conditions {
		r, err := eval(c, 0)
		if err != nil {
			return nil, fmt.Errorf("condition %s: %w", name, err)
		}
		b, ok := r.(bool)
		if !ok {
			return nil, fmt.Errorf("condition %s is %v, not true or false", name, r)
		}
		values[name] = b
	}
	return values, nil
}

// createdResources returns the logical ids of the resources a stack of t creates with params:
// those without a condition or whose condition holds.
func createdResources(t Template, params map[string]string) ([]string, error) {
	conditions, err := conditionValues(t, params)
	if err != nil {
		return nil, err
	}
	var ids []string
	for id, r := range t.resources() {
		if c, ok := r["Condition"].(string); ok && !conditions[c] {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// describeIDs lists ids with their types, for printing.
func describeIDs(t Template, ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + " (" + t.resourceType(id) + ")"
	}
	return strings.Join(parts, ", ")
}
