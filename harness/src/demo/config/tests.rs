//! The demo configuration's checks: what round-trips, and what is refused with the field named.

use super::*;

fn refused(edit: impl FnOnce(&mut DemoConfig)) -> String {
    let mut cfg = DemoConfig::default();
    edit(&mut cfg);
    let text = serde_json::to_string(&cfg).unwrap();
    DemoConfig::from_json(&text).unwrap_err().to_string()
}

#[test]
fn the_default_round_trips_through_json() {
    let text = serde_json::to_string(&DemoConfig::default()).unwrap();
    assert_eq!(DemoConfig::from_json(&text).unwrap(), DemoConfig::default());
}

#[test]
fn leagues_that_do_not_fit_the_shard_are_refused_not_merged() {
    // 3 believable + 7 normal need 10: a shard of 6 would silently run one league and drop
    // the fraudulent validator the configuration asked for.
    let err = refused(|c| c.validators_per_shard = 6);
    assert!(err.contains("two leagues need"), "{err}");
    let err = refused(|c| c.short_shards = vec![0]);
    assert!(err.contains("needs two leagues"), "{err}");
    let err = refused(|c| {
        c.faults.clear();
        c.short_shards = vec![1];
        c.short_shard_validators = 3;
    });
    assert!(err.contains("at least 4 validators"), "{err}");
}

#[test]
fn impossible_numbers_name_the_field_and_the_range() {
    let err = refused(|c| c.rate = 1e-9);
    assert!(err.contains("rate") && err.contains("1 to 10^7"), "{err}");
    let err = refused(|c| c.policy.sampling_probability = 5e-324);
    assert!(err.contains("sampling_probability"), "{err}");
    let err = DemoConfig::from_json("[]").unwrap_err().to_string();
    assert!(err.contains("not a demo configuration"), "{err}");
}
