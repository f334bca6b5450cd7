//! The alert rules: valid for promtool, and every rule has a unit test that passes.

use crate::support::{crate_dir, run_promtool};

fn names(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix(key))
        .map(|n| n.trim().trim_matches('"').to_owned())
        .collect()
}

#[test]
fn every_alert_rule_is_valid_and_unit_tested() {
    let (ok, out) = run_promtool(&["check", "rules", "prometheus/alerts.yml"], None);
    assert!(ok, "promtool check rules: {out}");
    let rules = std::fs::read_to_string(crate_dir().join("prometheus/alerts.yml"))
        .expect("prometheus/alerts.yml");
    let tests = std::fs::read_to_string(crate_dir().join("prometheus/alerts_test.yml"))
        .expect("prometheus/alerts_test.yml");
    let alerts = names(&rules, "alert:");
    assert!(alerts.len() >= 10, "alerts: {alerts:?}");
    let tested = names(&tests, "alertname:");
    for alert in &alerts {
        assert!(
            tested.contains(alert),
            "alert {alert} has no test in prometheus/alerts_test.yml"
        );
    }
    let (ok, out) = run_promtool(&["test", "rules", "prometheus/alerts_test.yml"], None);
    assert!(ok, "promtool test rules: {out}");
}
