//! The shard-safety report's Markdown: the table `iosv simulate shard-safety` prints and writes
//! (`perf-reports/shard-safety.md`), made from a [`SafetyReport`]'s data only, with a reading of
//! each fraction (the smallest safe shard size, whether measured and exact agree).

use super::safety::SafetyReport;

/// |z| below which a measured rate counts as agreeing with the exact probability (4 standard
/// errors: 18 rows at |z| < 4 would all pass by chance with probability above 99.9%).
const Z_AGREE: f64 = 4.0;

/// An epoch counts as safe when the chance that any of its shards is bad is below this.
const SAFE_EPOCH: f64 = 1e-6;

/// The report's Markdown, made from its data.
pub fn markdown(r: &SafetyReport, fractions: &[f64]) -> String {
    let mut s = String::new();
    s.push_str("# Shard safety: probability that a shard has a third or more faulty members\n\n");
    s.push_str(&format!(
        "{} validators; a shard of n members is bad when at least ⌈n/3⌉ are faulty. \"Exact\" is the \
         hypergeometric tail P(X ≥ ⌈n/3⌉) for one shard (log-space sum, checked against exact integer \
         arithmetic in `shard::safety` tests). \"Measured\" counts bad shards over {} epoch assignments \
         made by the simulator's own assignment function (`shard::assign`, seed {}), ⌊{}/n⌋ shards each \
         (leftover validators on standby); ± is one binomial standard error of the rate under the exact \
         probability, z = (measured − exact) / standard error. \"Any shard (bound)\" is the union bound \
         on the chance that some shard of an epoch is bad.\n\n",
        r.validators, r.samples, r.seed, r.validators
    ));
    s.push_str(&format!(
        "Reproduce: `cargo run -p iosv-harness -- simulate shard-safety --validators {} --samples {} --seed {} --out perf-reports`\n",
        r.validators, r.samples, r.seed
    ));
    s.push_str("\nReading:\n");
    for &fraction in fractions {
        let rows = r.rows.iter().filter(|row| row.faulty_fraction == fraction);
        let safe = rows.clone().find(|row| row.any_shard_bound < SAFE_EPOCH);
        let worst_z = rows
            .filter_map(|row| row.z)
            .fold(0.0f64, |m, z| m.max(z.abs()));
        s.push_str(&match safe {
            Some(row) => format!(
                "- {:.0}% faulty: the smallest shard size here whose epochs are all safe except with \
                 probability below {SAFE_EPOCH:.0e} (union bound) is {} (one shard bad with probability {:.1e}).",
                fraction * 100.0,
                row.shard_size,
                row.probability
            ),
            None => format!(
                "- {:.0}% faulty: no shard size here makes an epoch safe except with probability \
                 below {SAFE_EPOCH:.0e}.",
                fraction * 100.0
            ),
        });
        s.push_str(&if worst_z < Z_AGREE {
            format!(" Measured and exact agree: the largest |z| is {worst_z:.2}.\n")
        } else {
            format!(" Measured and exact DISAGREE: |z| reaches {worst_z:.2}.\n")
        });
    }
    for &fraction in fractions {
        let rows: Vec<_> = r
            .rows
            .iter()
            .filter(|row| row.faulty_fraction == fraction)
            .collect();
        let Some(first) = rows.first() else { continue };
        s.push_str(&format!(
            "\n## {:.0}% faulty ({} of {})\n\n| shard size | shards | bad at ≥ | exact P(bad shard) | any shard (bound) | measured rate | bad / observed | ± std. error | z |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            fraction * 100.0,
            first.faulty,
            r.validators
        ));
        for row in rows {
            let m = &row.measured;
            s.push_str(&format!(
                "| {} | {} | {} | {:.3e} | {:.3e} | {} | {} / {} | {:.1e} | {} |\n",
                row.shard_size,
                row.shards,
                row.bad_at,
                row.probability,
                row.any_shard_bound,
                if m.bad_shards == 0 {
                    format!("0 in {}", m.shards_observed)
                } else {
                    format!("{:.3e}", m.rate)
                },
                m.bad_shards,
                m.shards_observed,
                m.std_error,
                row.z.map_or("–".into(), |z| format!("{z:+.2}"))
            ));
        }
    }
    s
}
