//! Pairing engine benchmarks on generated rounds shaped like the yardstick's
//! (`cargo bench --bench matching`). Instances are built in memory so the
//! figures measure the engine alone, not JSON parsing.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use coffee_trials::matching::meet::{Way, Ways};
use coffee_trials::matching::{pair, Instance, PastGroup, PastRound, Person, Rules};

/// `n` people in `groups` skewed groups with `rounds` past random groupings
/// (groups of `size`) of the same population (with a little churn), as in the
/// yardstick's churn sets; the rules ask for groups of `size` too.
fn churn_instance(n: usize, rounds: usize, groups: usize, seed: u64, size: usize) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let weights: Vec<f64> = (1..=groups).map(|k| 1.0 / k as f64).collect();
    let total: f64 = weights.iter().sum();
    let pick = |rng: &mut ChaCha8Rng| {
        let mut x = rng.random::<f64>() * total;
        for (k, w) in weights.iter().enumerate() {
            if x < *w {
                return k;
            }
            x -= w;
        }
        groups - 1
    };
    let participants: Vec<Person> = (0..n)
        .map(|i| Person {
            id: format!("p{i}"),
            group: Some(format!("g{}", pick(&mut rng))),
            ..Person::default()
        })
        .collect();
    let mut history = Vec::new();
    for _ in 0..rounds {
        let mut ids: Vec<usize> = (0..n + n / 20).filter(|_| rng.random_bool(0.97)).collect();
        ids.shuffle(&mut rng);
        let groups = ids
            .chunks_exact(size)
            .map(|c| PastGroup {
                members: c.iter().map(|i| format!("p{i}")).collect(),
                met: true,
            })
            .collect();
        history.push(PastRound { groups });
    }
    Instance {
        participants,
        history,
        rules: Rules {
            group_size: size,
            ..Rules::default()
        },
    }
}

/// A stable cohort of `m` people with `rounds` rounds of a relabelled round-robin.
fn tight_instance(m: usize, rounds: usize, seed: u64) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut label: Vec<usize> = (0..m).collect();
    label.shuffle(&mut rng);
    let k = m - 1;
    let mut order: Vec<usize> = (0..k).collect();
    order.shuffle(&mut rng);
    let history = order[..rounds]
        .iter()
        .map(|&r| {
            let mut f = vec![[r, m - 1]];
            f.extend((1..m / 2).map(|i| [(r + i) % k, (r + k - i) % k]));
            PastRound {
                groups: f
                    .iter()
                    .map(|&[a, b]| PastGroup {
                        members: vec![format!("p{}", label[a]), format!("p{}", label[b])],
                        met: true,
                    })
                    .collect(),
            }
        })
        .collect();
    Instance {
        participants: (0..m)
            .map(|i| Person {
                id: format!("p{i}"),
                group: Some(format!("g{}", i % 6)),
                ..Person::default()
            })
            .collect(),
        history,
        rules: Rules::default(),
    }
}

/// The same instance with a hospital trust's ways to meet: a quarter in person
/// only on one of `sites` sites, some video only, the rest any way.
fn with_ways(mut inst: Instance, sites: usize, seed: u64) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for p in &mut inst.participants {
        p.site = Some(format!("site{}", rng.random_range(0..sites)));
        p.ways = match rng.random_range(0..8) {
            0 | 1 => Ways::from_list([Way::InPerson]),
            2 => Ways::from_list([Way::Video]),
            3 => Ways::from_list([Way::InPerson, Way::Video]),
            _ => Ways::ANY,
        };
    }
    inst
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pair");
    g.sample_size(10);
    for (name, inst) in [
        ("churn_n1000_r10", churn_instance(1000, 10, 15, 1, 2)),
        ("churn_n1001_r10", churn_instance(1001, 10, 15, 2, 2)),
        ("churn_n20000_r5", churn_instance(20_000, 5, 50, 3, 2)),
        ("churn_n50000_r5", churn_instance(50_000, 5, 50, 4, 2)),
        ("tight_n300_r295", tight_instance(300, 295, 5)),
        (
            "meet_n2000_r12",
            with_ways(churn_instance(2000, 12, 15, 5, 2), 6, 5),
        ),
        (
            "meet_n20000_r5",
            with_ways(churn_instance(20_000, 5, 30, 6, 2), 8, 6),
        ),
    ] {
        g.bench_with_input(BenchmarkId::from_parameter(name), &inst, |b, inst| {
            let mut seed = 0u64;
            b.iter(|| {
                seed += 1;
                pair(inst, seed)
            })
        });
    }
    g.finish();
}

/// Groups of three (`cargo bench --bench matching -- triads`).
fn bench_triads(c: &mut Criterion) {
    let mut g = c.benchmark_group("triads");
    g.sample_size(10);
    for (name, inst) in [
        ("churn_n1000_r10", churn_instance(1000, 10, 15, 1, 3)),
        ("churn_n10000_r10", churn_instance(10_000, 10, 15, 3, 3)),
    ] {
        g.bench_with_input(BenchmarkId::from_parameter(name), &inst, |b, inst| {
            let mut seed = 0u64;
            b.iter(|| {
                seed += 1;
                pair(inst, seed)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_triads);
criterion_main!(benches);
