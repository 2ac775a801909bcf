//! A validator for the subset of JSON Schema the official ACI spec uses (`type`, `format`
//! int32, `required`, `properties`, `additionalProperties`, `enum`, `items`, `$ref`, `allOf`,
//! `readOnly`), reading the spec from the shared folder at test time. It is stricter than ARM
//! in one useful way: a property the spec does not define is an error, so a typo in a serde
//! name fails the test instead of being silently dropped by Azure.

use std::collections::BTreeSet;

use serde_json::Value;

/// The spec's definitions.
pub struct Spec {
    definitions: serde_json::Map<String, Value>,
}

impl Spec {
    /// Loads the 2025-09-01 spec from `../shared/azure-aci-spec`.
    pub fn load() -> Spec {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/azure-aci-spec/2025-09-01/containerInstance.json"
        );
        let text = std::fs::read_to_string(path).expect("the official spec is in the shared folder");
        let spec: Value = serde_json::from_str(&text).expect("the spec is JSON");
        let definitions = spec["definitions"].as_object().expect("the spec has definitions").clone();
        Spec { definitions }
    }

    /// Every problem of `value` as a request body of definition `name`.
    pub fn check_request(&self, name: &str, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let schema = Value::String(format!("#/definitions/{name}"));
        let schema = serde_json::json!({ "$ref": schema });
        self.check(value, &schema, "$", true, &mut errors);
        errors
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/definitions/").expect("local references only");
                self.resolve(self.definitions.get(name).expect("referenced definition exists"))
            }
            None => schema,
        }
    }

    /// Property names a schema allows, or `None` when it allows any.
    fn known(&self, schema: &Value, out: &mut BTreeSet<String>) -> bool {
        let schema = self.resolve(schema);
        if schema.get("additionalProperties").is_some() {
            return false;
        }
        let mut closed = true;
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                closed &= self.known(part, out);
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
        closed
    }

    fn check(
        &self,
        value: &Value,
        schema: &Value,
        path: &str,
        check_unknown: bool,
        errors: &mut Vec<String>,
    ) {
        let schema = self.resolve(schema);
        if schema.get("readOnly").and_then(Value::as_bool) == Some(true) {
            errors.push(format!("{path}: read-only property in a request"));
            return;
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check(value, part, path, false, errors);
            }
        }
        let choices = schema.get("enum").and_then(Value::as_array);
        if let Some(choices) = choices.filter(|c| !c.contains(value)) {
            errors.push(format!("{path}: {value} is not one of {choices:?}"));
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") | None if value.is_object() => {}
            Some("object") => errors.push(format!("{path}: expected an object")),
            Some("array") if !value.is_array() => errors.push(format!("{path}: expected an array")),
            Some("string") if !value.is_string() => errors.push(format!("{path}: expected a string")),
            Some("boolean") if !value.is_boolean() => errors.push(format!("{path}: expected a boolean")),
            Some("number") if !value.is_number() => errors.push(format!("{path}: expected a number")),
            Some("integer") => match value.as_i64() {
                None => errors.push(format!("{path}: expected an integer")),
                Some(n)
                    if schema.get("format").and_then(Value::as_str) == Some("int32")
                        && i32::try_from(n).is_err() =>
                {
                    errors.push(format!("{path}: {n} does not fit int32"))
                }
                Some(_) => {}
            },
            _ => {}
        }
        if let Some(object) = value.as_object() {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for key in required.iter().filter_map(Value::as_str) {
                    if !object.contains_key(key) {
                        errors.push(format!("{path}: missing required {key}"));
                    }
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties");
            let mut known = BTreeSet::new();
            let closed = check_unknown && self.known(schema, &mut known) && !known.is_empty();
            for (key, item) in object {
                let child = format!("{path}.{key}");
                if let Some(s) = props.and_then(|p| p.get(key)) {
                    self.check(item, s, &child, true, errors);
                } else if let Some(s) = extra.filter(|e| e.is_object()) {
                    self.check(item, s, &child, true, errors);
                } else if closed && !known.contains(key) {
                    errors.push(format!("{child}: not defined by the spec"));
                }
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, item) in array.iter().enumerate() {
                self.check(item, items, &format!("{path}[{i}]"), true, errors);
            }
        }
    }
}

/// Schema paths (`properties.containers[].name`) of every leaf in a JSON value.
pub fn leaf_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaf_paths(v, &p, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for v in items {
                leaf_paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}
