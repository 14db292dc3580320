//! A validator for the JSON Schema keywords `schemas/profile_update.schema.json`
//! uses. Any other keyword makes it panic, so the schema cannot grow a rule
//! this check would silently skip.

use serde_json::Value;

const ANNOTATIONS: [&str; 7] = [
    "$schema",
    "$id",
    "title",
    "description",
    "format",
    "example",
    "examples",
];

pub fn validate(root: &Value, instance: &Value) -> Result<(), String> {
    check(root, root, instance, "$")
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("local $ref only");
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling $ref {reference}"))
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unknown type {other}"),
    }
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return match schema {
            Value::Bool(true) => Ok(()),
            _ => Err(format!("{at}: schema false")),
        };
    };
    for (keyword, arg) in schema {
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$defs" => {}
            "$ref" => check(root, resolve(root, arg.as_str().unwrap()), v, at)?,
            "type" => {
                let ok = match arg {
                    Value::String(t) => type_matches(t, v),
                    Value::Array(ts) => ts.iter().any(|t| type_matches(t.as_str().unwrap(), v)),
                    _ => panic!("bad type"),
                };
                if !ok {
                    return Err(format!("{at}: {v} is not {arg}"));
                }
            }
            "const" => {
                if v != arg {
                    return Err(format!("{at}: {v} is not {arg}"));
                }
            }
            "enum" => {
                if !arg.as_array().unwrap().contains(v) {
                    return Err(format!("{at}: {v} not in {arg}"));
                }
            }
            "minimum" => {
                if v.as_f64().is_some_and(|x| x < arg.as_f64().unwrap()) {
                    return Err(format!("{at}: {v} < {arg}"));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in arg.as_array().unwrap() {
                        if !o.contains_key(r.as_str().unwrap()) {
                            return Err(format!("{at}: missing {r}"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in arg.as_object().unwrap() {
                        if let Some(value) = o.get(name) {
                            check(root, sub, value, &format!("{at}.{name}"))?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (name, value) in o {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        check(root, arg, value, &format!("{at}.{name}"))?;
                    }
                }
            }
            "items" => {
                if let Some(items) = v.as_array() {
                    for (i, item) in items.iter().enumerate() {
                        check(root, arg, item, &format!("{at}[{i}]"))?;
                    }
                }
            }
            "allOf" => {
                for sub in arg.as_array().unwrap() {
                    check(root, sub, v, at)?;
                }
            }
            "oneOf" => {
                let passing: Vec<usize> = arg
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| check(root, s, v, at).is_ok())
                    .map(|(i, _)| i)
                    .collect();
                if passing.len() != 1 {
                    return Err(format!(
                        "{at}: {} branches of oneOf match {v}",
                        passing.len()
                    ));
                }
            }
            other => panic!("keyword {other} is not supported by this validator"),
        }
    }
    Ok(())
}

#[test]
fn the_validator_refuses_what_the_schema_forbids() {
    let schema: Value = serde_json::json!({
        "type": "object",
        "required": ["a"],
        "additionalProperties": false,
        "properties": {"a": {"type": "integer", "minimum": 1}, "b": {"enum": ["x"]}}
    });
    assert!(validate(&schema, &serde_json::json!({"a": 1, "b": "x"})).is_ok());
    assert!(validate(&schema, &serde_json::json!({"a": 0})).is_err());
    assert!(validate(&schema, &serde_json::json!({"b": "x"})).is_err());
    assert!(validate(&schema, &serde_json::json!({"a": 1, "c": 1})).is_err());
    assert!(validate(&schema, &serde_json::json!({"a": 1, "b": "y"})).is_err());
}
