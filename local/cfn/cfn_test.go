package cfn

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

func TestDecodeYAMLGivesTheLongFormOfEveryShortForm(t *testing.T) {
	t.Parallel()
	src := []byte(`
Parameters:
  Size: {Type: Number, Default: 60}
Resources:
  Thing:
    Type: AWS::X::Y
    Condition: IsOn
    Properties:
      Name: !Ref Size
      Arn: !GetAtt Other.Arn
      Nested: !GetAtt Other.Endpoint.Address
      ListForm: !GetAtt [Other, Arn]
      Text: !Sub ${AWS::StackName}-x
      Pair: !Sub
        - arn:${Name}
        - Name: !If [IsOn, !Ref A, !Ref "AWS::NoValue"]
      Joined: !Join ["", [a, !Ref B]]
      Check: !Not [!Equals [!Ref C, ""]]
      Both: !And [!Condition IsOn, !Condition IsOff]
      Quoted: "2.0"
      Flag: true
      Anchor: &shared {k: v}
      Alias: *shared
`)
	got, err := DecodeYAML(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Parameters": map[string]any{"Size": map[string]any{"Type": "Number", "Default": 60}},
		"Resources": map[string]any{"Thing": map[string]any{
			"Type":      "AWS::X::Y",
			"Condition": "IsOn",
			"Properties": map[string]any{
				"Name":     map[string]any{"Ref": "Size"},
				"Arn":      map[string]any{"Fn::GetAtt": []any{"Other", "Arn"}},
				"Nested":   map[string]any{"Fn::GetAtt": []any{"Other", "Endpoint.Address"}},
				"ListForm": map[string]any{"Fn::GetAtt": []any{"Other", "Arn"}},
				"Text":     map[string]any{"Fn::Sub": "${AWS::StackName}-x"},
				"Pair": map[string]any{"Fn::Sub": []any{"arn:${Name}", map[string]any{
					"Name": map[string]any{"Fn::If": []any{"IsOn", map[string]any{"Ref": "A"}, map[string]any{"Ref": "AWS::NoValue"}}},
				}}},
				"Joined": map[string]any{"Fn::Join": []any{"", []any{"a", map[string]any{"Ref": "B"}}}},
				"Check":  map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "C"}, ""}}}},
				"Both":   map[string]any{"Fn::And": []any{map[string]any{"Condition": "IsOn"}, map[string]any{"Condition": "IsOff"}}},
				"Quoted": "2.0",
				"Flag":   true,
				"Anchor": map[string]any{"k": "v"},
				"Alias":  map[string]any{"k": "v"},
			},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
}

func TestDecodeYAMLRefusesWhatCloudFormationRefuses(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"GetAtt without an attribute": "Resources: {A: {Type: T, Properties: {X: !GetAtt Other}}}",
		"not a mapping":               "- a\n- b\n",
		"not YAML":                    "Resources: [\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeYAML([]byte(src)); err == nil {
				t.Errorf("got no error for %q", src)
			}
		})
	}
}

func TestDecodeYAMLReadsTheProjectTemplate(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := DecodeYAML(src)
	if err != nil {
		t.Fatal(err)
	}
	role := tmpl["Resources"].(map[string]any)["UpdatePhoneNumberFunction"].(map[string]any)["Properties"].(map[string]any)["Role"]
	if want := map[string]any{"Fn::GetAtt": []any{"UpdatePhoneNumberFunctionRole", "Arn"}}; !reflect.DeepEqual(role, want) {
		t.Errorf("function Role: got %v, want %v", role, want)
	}
}
