//! Repeated timing with median and spread.

use std::time::{Duration, Instant};

use serde::Serialize;

/// Median and spread of repeated measurements of one quantity.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: usize,
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Self {
        assert!(!values.is_empty(), "no samples");
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Self {
            median,
            min: values[0],
            max: values[n - 1],
            samples: n,
        }
    }
}

/// Runs `f` (which does `work_items` units of work) repeatedly: each sample lasts at least
/// `min_sample`; returns the rate in units per second over `samples` samples.
pub fn rate(
    samples: usize,
    min_sample: Duration,
    work_items: usize,
    mut f: impl FnMut(),
) -> Spread {
    f(); // warm-up: caches, lazy tables, page faults
    let rates = (0..samples)
        .map(|_| {
            let start = Instant::now();
            let mut reps = 0usize;
            while reps == 0 || start.elapsed() < min_sample {
                f();
                reps += 1;
            }
            (reps * work_items) as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    Spread::of(rates)
}
