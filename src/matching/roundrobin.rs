//! Stable cohorts: keep a round-robin going.
//!
//! Picking a maximum repeat-free pairing each round can paint a cohort into a
//! corner long before N−1 rounds (networkx-style matching reaches its first
//! repeat around round 0.76·N). When every recent round was a perfect pairing
//! of exactly today's even-sized cohort, we rebuild, deterministically from the
//! oldest such round and the ids, a circle-method 1-factorisation of the
//! complete graph that contains it. If the later rounds are factors of it too,
//! any unused factor is repeat-free and leaves the rest of the schedule intact,
//! so the cohort gets all N−1 rounds without a repeat.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::index::Ctx;

/// An unused factor of the cohort's round-robin schedule, if the history is
/// such a schedule in progress and a factor with no repeat and no exclusion is left.
pub(crate) fn extend(ctx: &Ctx, rng: &mut ChaCha8Rng) -> Option<Vec<[u32; 2]>> {
    let n = ctx.n;
    if n < 4 || n % 2 == 1 {
        return None;
    }
    let run = ctx
        .perfect_rounds
        .iter()
        .rev()
        .take_while(|r| r.is_some())
        .count();
    let m = n - 1; // number of factors; odd
    if run == 0 || run >= m {
        return None;
    }
    let rounds = &ctx.perfect_rounds[ctx.perfect_rounds.len() - run..];
    let first = rounds[0].as_ref()?;

    // Canonical labelling by ids: factor 0 of the circle method is
    // {(0, ∞)} ∪ {(i, m−i)}, so the oldest round's i-th pair (in id order)
    // takes labels i and m−i, and its first pair takes 0 and ∞ (= m).
    let mut base: Vec<[u32; 2]> = first
        .iter()
        .map(|&[a, b]| {
            if ctx.ids[a as usize] <= ctx.ids[b as usize] {
                [a, b]
            } else {
                [b, a]
            }
        })
        .collect();
    base.sort_unstable_by(|x, y| ctx.ids[x[0] as usize].cmp(ctx.ids[y[0] as usize]));
    let mut label = vec![0u32; n];
    let mut slot = vec![0u32; n];
    for (i, &[a, b]) in base.iter().enumerate() {
        let (la, lb) = if i == 0 { (m, 0) } else { (i, m - i) };
        label[a as usize] = la as u32;
        label[b as usize] = lb as u32;
        slot[la] = a;
        slot[lb] = b;
    }
    let inv2 = m.div_ceil(2);
    let factor_of = |a: u32, b: u32| -> usize {
        let (la, lb) = (label[a as usize] as usize, label[b as usize] as usize);
        if la == m {
            lb
        } else if lb == m {
            la
        } else {
            (la + lb) * inv2 % m
        }
    };
    let mut used = vec![false; m];
    for round in rounds {
        let pairs = round.as_ref()?;
        let f = factor_of(pairs[0][0], pairs[0][1]);
        if pairs.iter().any(|&[a, b]| factor_of(a, b) != f) {
            return None;
        }
        used[f] = true;
    }

    let factor = |r: usize| -> Vec<[u32; 2]> {
        let mut v = Vec::with_capacity(n / 2);
        v.push([slot[r], slot[m]]);
        for i in 1..n / 2 {
            v.push([slot[(r + i) % m], slot[(r + m - i) % m]]);
        }
        v
    };
    let mut best: Option<(usize, Vec<[u32; 2]>)> = None;
    let mut ties = 0u32;
    for r in (0..m).filter(|&r| !used[r]) {
        let pairs = factor(r);
        // Older history (before the run), exclusions or people who cannot meet
        // may rule a factor out.
        if pairs
            .iter()
            .any(|&[a, b]| !ctx.allowed(a, b) || ctx.met_age(a, b).is_some() || !ctx.can_meet(a, b))
        {
            continue;
        }
        let cross = pairs.iter().filter(|&&[a, b]| ctx.cross(a, b)).count();
        match &best {
            Some((c, _)) if cross < *c => {}
            Some((c, _)) if cross == *c => {
                ties += 1;
                if rng.random_range(0..=ties) == 0 {
                    best = Some((cross, pairs));
                }
            }
            _ => {
                ties = 0;
                best = Some((cross, pairs));
            }
        }
    }
    best.map(|(_, p)| p)
}
