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

/// Measures several contenders on the same work, interleaved: sample 1 of each, then sample 2 of
/// each, and so on, so that drift on a shared machine (other processes, frequency changes) hits
/// every contender alike and their ratios stay meaningful. Each sample lasts at least `min_sample`;
/// `work_items` units of work per call; returns each contender's rate in units per second.
pub fn interleaved_rates(
    samples: usize,
    min_sample: Duration,
    work_items: usize,
    contenders: &mut [&mut dyn FnMut()],
) -> Vec<Spread> {
    for f in contenders.iter_mut() {
        f(); // warm-up: caches, lazy tables, page faults
    }
    let mut rates = vec![Vec::with_capacity(samples); contenders.len()];
    for _ in 0..samples {
        for (f, r) in contenders.iter_mut().zip(rates.iter_mut()) {
            r.push(one_sample(min_sample, work_items, f));
        }
    }
    rates.into_iter().map(Spread::of).collect()
}

/// Calls `f` (which does `work_items` units of work) until `min_sample` has passed (at least
/// once); returns units per second.
pub fn one_sample(min_sample: Duration, work_items: usize, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    let mut reps = 0usize;
    while reps == 0 || start.elapsed() < min_sample {
        f();
        reps += 1;
    }
    (reps * work_items) as f64 / start.elapsed().as_secs_f64()
}

/// The most items per second `cores` cores can process when one thread spends `serial_us` µs of
/// CPU on each and all threads together `cpu_us`: the lower of the one thread's ceiling and the
/// cores' total (Amdahl's bound for a pipeline whose serial part overlaps the rest).
pub fn core_bound(serial_us: f64, cpu_us: f64, cores: f64) -> f64 {
    let serial = if serial_us > 0.0 {
        1e6 / serial_us
    } else {
        f64::INFINITY
    };
    serial.min(cores * 1e6 / cpu_us)
}
