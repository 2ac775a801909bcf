//! Structural comparison: every field of the expected JSON is present in the actual JSON with the same type.

use serde_json::Value;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Lists every place where `actual` lacks a field of `expected` or has another JSON type.
pub fn differences(expected: &Value, actual: &Value, at: &str) -> Vec<String> {
    if kind(expected) != kind(actual) {
        return vec![format!("{at}: expected {}, found {}", kind(expected), kind(actual))];
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .flat_map(|(k, ev)| match a.get(k) {
                None => vec![format!("{at}/{k}: missing")],
                Some(av) => differences(ev, av, &format!("{at}/{k}")),
            })
            .collect(),
        (Value::Array(e), Value::Array(a)) => e
            .iter()
            .enumerate()
            .flat_map(|(i, ev)| match a.get(i) {
                None => vec![format!("{at}/{i}: missing array element")],
                Some(av) => differences(ev, av, &format!("{at}/{i}")),
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn a_missing_field_or_another_type_is_reported() {
    let expected = serde_json::json!({ "a": { "b": 1, "c": ["x"] }, "d": true });
    let same = serde_json::json!({ "a": { "b": 2.5, "c": ["y", "z"], "extra": 1 }, "d": false });
    assert!(differences(&expected, &same, "").is_empty());
    let other = serde_json::json!({ "a": { "b": "1", "c": [] } });
    let found = differences(&expected, &other, "");
    assert_eq!(
        found,
        vec!["/a/b: expected number, found string", "/a/c/0: missing array element", "/d: missing"]
    );
}
