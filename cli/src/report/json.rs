//! `--json`: the results as serde writes them, pretty-printed. Field order is the structs'
//! declaration order, so the output is stable between runs of the same scenario.

use crate::scenario::result::ScenarioResult;

/// Every result as a pretty JSON array, with a final newline.
pub fn to_json(results: &[ScenarioResult]) -> String {
    match serde_json::to_string_pretty(results) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Only a map with non-string keys or a failing Serialize impl can fail; the result
        // types have neither, so this is a bug report rather than an expected error.
        Err(e) => format!(
            "{}\n",
            serde_json::json!({ "error": format!("failed to serialise results: {e}") })
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn json_round_trips_and_is_stable() {
        let results = [fixture::failover()];
        let json = to_json(&results);
        let back: Vec<ScenarioResult> = serde_json::from_str(&json).expect("the JSON parses back");
        assert_eq!(to_json(&back), json);
        assert!(
            json.contains("\"result\": \"failed\""),
            "outcomes are tagged"
        );
    }
}
