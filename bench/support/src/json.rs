//! Reading numbers out of the agent's JSON answers.

use serde_json::Value;

/// The number at a dotted path, 0 when absent.
pub fn at(v: &Value, path: &str) -> u64 {
    path.split('.')
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The sum of the numbers in the object at a dotted path.
pub fn sum(v: &Value, path: &str) -> u64 {
    path.split('.')
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_object)
        .map_or(0, |o| o.values().filter_map(Value::as_u64).sum())
}
