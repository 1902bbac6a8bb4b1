//! Comparing two `report.json` files (`iosv compare BASE NEW`): every figure present in both, with
//! the ratio of medians.
//!
//! Works on the JSON itself, not on the report types, so a report written by an older or newer
//! iosv (or by another machine with a different plan) still compares on the figures both hold. A
//! figure is any object with `median`, `min`, `max` and `samples` (a [`Spread`]), or a same-run
//! ratio (a number named `ratio` or `*_over_*` inside a `ratios` list). Its key is its path, where
//! list elements are named by their identifying fields (strings and integers: implementation,
//! keys, batch, roster, …) rather than by position, so plans of different sizes line up.
//!
//! [`Spread`]: crate::bench::timing::Spread

use serde::Serialize;
use serde_json::{Map, Value};

/// One figure of a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    pub key: String,
    pub median: f64,
}

/// One figure in both reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compared {
    pub key: String,
    pub base: f64,
    pub new: f64,
    /// `new / base`.
    pub ratio: f64,
}

fn is_spread(obj: &Map<String, Value>) -> bool {
    ["median", "min", "max", "samples"]
        .iter()
        .all(|k| obj.get(*k).is_some_and(Value::is_number))
}

fn is_integer(v: &Value) -> bool {
    v.as_u64().is_some() || v.as_i64().is_some()
}

/// The name of a list element: its string and integer fields, `k=v` joined with commas.
fn label(obj: &Map<String, Value>) -> String {
    let parts: Vec<String> = obj
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some(format!("{k}={s}")),
            v if is_integer(v) => Some(format!("{k}={v}")),
            _ => None,
        })
        .collect();
    parts.join(",")
}

fn walk(value: &Value, path: &str, in_ratios: bool, out: &mut Vec<Figure>) {
    match value {
        Value::Object(obj) if is_spread(obj) => out.push(Figure {
            key: path.to_string(),
            median: obj["median"].as_f64().unwrap_or(f64::NAN),
        }),
        Value::Object(obj) => {
            for (k, child) in obj {
                let child_path = format!("{path}/{k}");
                let is_ratio = k == "ratio" || k.contains("_over_");
                match child {
                    Value::Number(n) if in_ratios && is_ratio => out.push(Figure {
                        key: child_path,
                        median: n.as_f64().unwrap_or(f64::NAN),
                    }),
                    _ => walk(child, &child_path, k == "ratios", out),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let name = match item {
                    Value::Object(obj) => label(obj),
                    _ => String::new(),
                };
                let name = if name.is_empty() { i.to_string() } else { name };
                walk(item, &format!("{path}[{name}]"), in_ratios, out);
            }
        }
        _ => {}
    }
}

/// Every figure of a report, in document order.
pub fn figures(report: &Value) -> Vec<Figure> {
    let mut out = Vec::new();
    walk(report, "", false, &mut out);
    out
}

/// The figures present in both reports (by key), in `new`'s order.
pub fn compare(base: &Value, new: &Value) -> Vec<Compared> {
    let base_figures = figures(base);
    figures(new)
        .into_iter()
        .filter_map(|n| {
            let b = base_figures.iter().find(|b| b.key == n.key)?;
            Some(Compared {
                key: n.key,
                base: b.median,
                new: n.median,
                ratio: n.median / b.median,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spread(m: f64) -> Value {
        json!({ "median": m, "min": m, "max": m, "samples": 5 })
    }

    #[test]
    fn figures_are_named_by_identity_not_position() {
        let base = json!({
            "machine": { "cpu_model": "a" },
            "sigverify": {
                "measurements": [
                    { "implementation": "iosv batch", "keys": "distinct", "batch": 64, "sigs_per_sec": spread(100.0) },
                    { "implementation": "iosv batch", "keys": "distinct", "batch": 1024, "sigs_per_sec": spread(200.0) }
                ],
                "ratios": [ { "keys": "distinct", "batch": 1024, "engine_over_dalek_batch": 1.5 } ]
            }
        });
        let new = json!({
            "sigverify": {
                "measurements": [
                    { "implementation": "iosv batch", "keys": "distinct", "batch": 1024, "sigs_per_sec": spread(300.0) }
                ],
                "ratios": [ { "keys": "distinct", "batch": 1024, "engine_over_dalek_batch": 1.2 } ]
            }
        });
        assert_eq!(figures(&base).len(), 3);
        let c = compare(&base, &new);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0].key,
            "/sigverify/measurements[batch=1024,implementation=iosv batch,keys=distinct]/sigs_per_sec"
        );
        assert!((c[0].ratio - 1.5).abs() < 1e-12);
        assert!((c[1].ratio - 0.8).abs() < 1e-12);
    }
}
