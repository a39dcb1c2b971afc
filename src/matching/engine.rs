//! The general pairing path: randomised greedy, exact augmentation, completion
//! with forced repeats, the group of three, local improvement, and the exact
//! fall-backs for odd and small rounds.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::blossom::{Graph, Matcher, Mode};
use super::index::{Cost, Csr, Ctx, NONE};
use super::meet::{how_group_meets, HowToMeet, Reach};
use super::{roundrobin, Group, Instance, Outcome, Stats, Unplaced};

/// Up to this size the never-met graph is stored as explicit lists (at most
/// N² entries), which also enables the exact search for the group of three.
const EXPLICIT_MAX: usize = 2048;
/// Rounds this small are solved exhaustively when not otherwise proven optimal.
const EXHAUSTIVE_MAX: usize = 16;
/// Rounds this small are always solved exhaustively.
const ALWAYS_EXHAUSTIVE_MAX: usize = 12;
/// Work allowed for the exact odd-N search (neighbour visits plus copies).
const TRIO_SEARCH_BUDGET: u64 = 60_000_000;

struct Solution {
    pairs: Vec<[u32; 2]>,
    trio: Option<[u32; 3]>,
    unplaced: Vec<u32>,
    lower_bound: u32,
    proven: bool,
    method: &'static str,
}

pub(crate) fn run(inst: &Instance, seed: u64) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ctx = Ctx::new(inst, &mut rng);
    let sol = if ctx.n < 2 {
        Solution {
            pairs: Vec::new(),
            trio: None,
            unplaced: (0..ctx.n as u32).collect(),
            lower_bound: 0,
            proven: true,
            method: "none",
        }
    } else if let Some(pairs) = roundrobin::extend(&ctx, &mut rng) {
        Solution {
            pairs,
            trio: None,
            unplaced: Vec::new(),
            lower_bound: 0,
            proven: true,
            method: "round-robin",
        }
    } else {
        solve(&ctx, &mut rng)
    };
    let mut groups: Vec<&[u32]> = sol.pairs.iter().map(|p| &p[..]).collect();
    if let Some(t) = &sol.trio {
        groups.push(t);
    }
    let placement = Placement {
        groups,
        unplaced: &sol.unplaced,
        lower_bound: sol.lower_bound,
        proven: sol.proven,
        method: sol.method,
        group_size: 2,
    };
    outcome(&ctx, &placement, seed)
}

fn solve(ctx: &Ctx, rng: &mut ChaCha8Rng) -> Solution {
    let n = ctx.n;
    let explicit = (n <= EXPLICIT_MAX).then(|| fresh_lists(ctx));
    let g = Graph {
        ctx,
        mode: Mode::Fresh,
        explicit: explicit.as_ref(),
    };
    let mut m = Matcher::new(n);
    // With odd N someone is left for the group of three; hold back a person
    // who has not been in one recently, so the matching leaves them free.
    let reserved = (n % 2 == 1).then(|| rested_person(ctx, rng));
    greedy(ctx, rng, &mut m, reserved);
    if let (Some(adj), true) = (&explicit, ctx.prefer_cross) {
        // Most never-met pairs across groups first; the full never-met graph
        // then only has to add what this leaves out.
        let cross = Csr {
            off: Vec::new(),
            nbr: Vec::new(),
            val: Vec::new(),
        };
        let cross = filtered(adj, cross, |u, v| ctx.cross(u, v));
        let gc = Graph {
            ctx,
            mode: Mode::FreshCross,
            explicit: Some(&cross),
        };
        maximise(&gc, &mut m, n % 2, reserved);
    }
    if let Some(x) = reserved {
        if !maximise(&g, &mut m, 1, Some(x)) {
            maximise(&g, &mut m, 1, None);
        }
    } else {
        maximise(&g, &mut m, 0, None);
    }
    let fresh_mate = m.mate.clone();
    let nu = (fresh_mate.iter().filter(|&&x| x != NONE).count() / 2) as u32;
    let half = (n as u32 - n as u32 % 2) / 2;
    // Meeting at all comes before avoiding repeats: grow the matching over every
    // allowed pair that can meet. Whoever is still free then cannot be paired
    // with anyone they can meet without leaving someone else without.
    let mut forced_cant = 0;
    if !ctx.meet_all {
        let gm = Graph {
            ctx,
            mode: Mode::Meet,
            explicit: None,
        };
        if let Some(x) = reserved {
            if !maximise(&gm, &mut m, 1, Some(x)) {
                maximise(&gm, &mut m, 1, None);
            }
        } else {
            maximise(&gm, &mut m, 0, None);
        }
        let matched = (m.mate.iter().filter(|&&x| x != NONE).count() / 2) as u32;
        forced_cant = half.saturating_sub(matched);
    }
    // Each pair is fresh and can meet (at most ν of them), a repeat, or cannot meet.
    let lower_bound = half.saturating_sub(nu + forced_cant);

    let mut sol = complete(ctx, rng, &mut m, lower_bound);
    let cost = total_cost(ctx, &sol);
    let mut repeats = cost.repeats;
    sol.proven = sol.unplaced.is_empty() && repeats == lower_bound;

    if !sol.proven && n % 2 == 1 && sol.unplaced.is_empty() && cost.cant == 0 {
        if let Some(adj) = &explicit {
            let (better, complete_search) =
                exact_trio(ctx, &g, adj, &fresh_mate, lower_bound, repeats);
            if let Some(mut s) = better {
                improve(ctx, rng, &mut s.pairs);
                let c = total_cost(ctx, &s);
                if c.better(&cost) {
                    repeats = c.repeats;
                    sol = s;
                }
            }
            // Trios with fewer than two never-met pairs cost at least the lower
            // bound plus two, so a complete search settles anything up to that.
            sol.proven = repeats == lower_bound || (complete_search && repeats <= lower_bound + 2);
        }
    }
    most_cross(ctx, rng, &mut sol.pairs, explicit.as_ref());
    // Tiny rounds are cheap to solve outright, which also settles recency,
    // cross-group pairs and the rotation of the group of three exactly.
    if (!sol.proven || n <= ALWAYS_EXHAUSTIVE_MAX) && n <= EXHAUSTIVE_MAX {
        if let Some((pairs, trio)) = exhaustive(ctx) {
            sol = Solution {
                pairs,
                trio,
                unplaced: Vec::new(),
                lower_bound,
                proven: true,
                method: "exhaustive",
            };
        }
    }
    sol
}

fn filtered(adj: &Csr, mut out: Csr, keep: impl Fn(u32, u32) -> bool) -> Csr {
    out.off.push(0);
    for u in 0..adj.off.len() as u32 - 1 {
        out.nbr
            .extend(adj.row(u).iter().copied().filter(|&v| keep(u, v)));
        out.off.push(out.nbr.len() as u32);
    }
    out
}

/// Explicit lists (ascending) of the allowed never-met pairs that can meet, for
/// rounds small enough to afford them.
fn fresh_lists(ctx: &Ctx) -> Csr {
    let n = ctx.n as u32;
    let mut off = Vec::with_capacity(ctx.n + 1);
    let mut nbr = Vec::new();
    off.push(0);
    for u in 0..n {
        nbr.extend((0..n).filter(|&v| ctx.fresh(u, v) && ctx.can_meet(u, v)));
        off.push(nbr.len() as u32);
    }
    Csr {
        off,
        nbr,
        val: Vec::new(),
    }
}

/// Randomised greedy start: each free person takes a free never-met partner,
/// from another group when one turns up among random samples or a bounded scan.
fn greedy(ctx: &Ctx, rng: &mut ChaCha8Rng, m: &mut Matcher, reserved: Option<u32>) {
    const SAMPLES: usize = 32;
    const SCAN: usize = 8192;
    let n = ctx.n;
    let mut pool: Vec<u32> = (0..n as u32).collect();
    let mut pos: Vec<u32> = (0..n as u32).collect();
    let mut in_pool_by_group = vec![0u32; ctx.group_names.len()];
    for &g in &ctx.group {
        if g != NONE {
            in_pool_by_group[g as usize] += 1;
        }
    }
    let mut remove = |x: u32, pool: &mut Vec<u32>, counts: &mut Vec<u32>| {
        let i = pos[x as usize] as usize;
        let last = pool.pop().expect("pool holds x");
        if i < pool.len() {
            pool[i] = last;
            pos[last as usize] = i as u32;
        }
        let g = ctx.group[x as usize];
        if g != NONE {
            counts[g as usize] -= 1;
        }
    };
    // 0: never met, other group; 1: never met, same group; 2: not acceptable
    // here (met before, excluded, or they cannot meet).
    let tier = |u: u32, v: u32| -> u8 {
        if !ctx.fresh(u, v) || !ctx.can_meet(u, v) {
            2
        } else if !ctx.prefer_cross || ctx.cross(u, v) {
            0
        } else {
            1
        }
    };
    if let Some(x) = reserved {
        remove(x, &mut pool, &mut in_pool_by_group);
    }
    for u in 0..n as u32 {
        if m.mate[u as usize] != NONE || Some(u) == reserved {
            continue;
        }
        remove(u, &mut pool, &mut in_pool_by_group);
        if pool.is_empty() {
            break;
        }
        let gu = ctx.group[u as usize];
        let other_groups_left = !ctx.prefer_cross
            || (gu != NONE && pool.len() > in_pool_by_group[gu as usize] as usize);
        let goal = if other_groups_left { 0 } else { 1 };
        let (mut best, mut best_tier) = (NONE, 2u8);
        for _ in 0..SAMPLES.min(pool.len()) {
            let v = pool[rng.random_range(0..pool.len())];
            let t = tier(u, v);
            if t < best_tier {
                (best, best_tier) = (v, t);
                if t <= goal {
                    break;
                }
            }
        }
        if best_tier > goal {
            let start = rng.random_range(0..pool.len());
            for k in 0..pool.len().min(SCAN) {
                let v = pool[(start + k) % pool.len()];
                let t = tier(u, v);
                if t < best_tier {
                    (best, best_tier) = (v, t);
                    if t <= goal {
                        break;
                    }
                }
            }
        }
        if best != NONE {
            remove(best, &mut pool, &mut in_pool_by_group);
            m.set_pair(u, best);
        }
    }
}

/// Augments until the matching is maximum in `g` (or only `parity` people are
/// left free, which is then maximum anyway). A `reserved` person is kept out
/// of it; returns whether the parity target was reached.
fn maximise(g: &Graph, m: &mut Matcher, parity: usize, reserved: Option<u32>) -> bool {
    const LOOKAHEAD: usize = 256;
    m.dead.fill(false);
    if let Some(x) = reserved {
        m.dead[x as usize] = true;
    }
    let free: Vec<u32> = (0..g.ctx.n as u32)
        .filter(|&v| m.mate[v as usize] == NONE)
        .collect();
    let mut left = free.len();
    for (i, &r) in free.iter().enumerate() {
        if left <= parity {
            break;
        }
        if m.mate[r as usize] != NONE || m.dead[r as usize] {
            continue;
        }
        let look = &free[i + 1..free.len().min(i + 1 + LOOKAHEAD)];
        if m.augment(g, r, look) {
            left -= 2;
        }
    }
    left <= parity
}

/// A random person among those longest out of a group of three.
fn rested_person(ctx: &Ctx, rng: &mut ChaCha8Rng) -> u32 {
    let best = (0..ctx.n as u32)
        .map(|u| ctx.trio_penalty(u))
        .fold(f64::INFINITY, f64::min);
    let rested: Vec<u32> = (0..ctx.n as u32)
        .filter(|&u| ctx.trio_penalty(u) <= best + 1e-12)
        .collect();
    rested[rng.random_range(0..rested.len())]
}

fn matched_pairs(mate: &[u32]) -> Vec<[u32; 2]> {
    (0..mate.len() as u32)
        .filter(|&u| mate[u as usize] != NONE && u < mate[u as usize])
        .map(|u| [u, mate[u as usize]])
        .collect()
}

/// Pairs the people the never-met matching left free (forced repeats, oldest
/// meetings first), then places the group of three, then polishes.
fn complete(ctx: &Ctx, rng: &mut ChaCha8Rng, m: &mut Matcher, lower_bound: u32) -> Solution {
    let n = ctx.n;
    let free: Vec<u32> = (0..n as u32)
        .filter(|&v| m.mate[v as usize] == NONE)
        .collect();
    for [a, b] in pair_leftovers(ctx, rng, &free) {
        m.set_pair(a, b);
    }
    let mut left: Vec<u32> = free
        .into_iter()
        .filter(|&v| m.mate[v as usize] == NONE)
        .collect();
    if left.len() > n % 2 {
        // Hard exclusions kept some of them apart: grow the matching over all
        // allowed pairs, re-arranging existing pairs where needed.
        let g = Graph {
            ctx,
            mode: Mode::Allowed,
            explicit: None,
        };
        maximise(&g, m, n % 2, None);
        left.retain(|&v| m.mate[v as usize] == NONE);
    }
    let mut pairs = matched_pairs(&m.mate);
    improve(ctx, rng, &mut pairs);
    let mut trio = None;
    let mut unplaced = Vec::new();
    // One extra person may join a pair; with even N this only happens when
    // exclusions already leave someone out, and it places one more person.
    let mut best: Option<(TrioChoice, u32)> = None;
    for (k, &x) in left.iter().enumerate() {
        let candidates = if k == 0 && left.len() == 1 {
            leftover_candidates(ctx, rng, &pairs, x)
        } else {
            vec![(x, None)]
        };
        for (c, swap) in candidates {
            if let Some(choice) = best_host(ctx, rng, &pairs, c, swap) {
                if best.as_ref().is_none_or(|(b, _)| choice.beats(b)) {
                    best = Some((choice, x));
                }
            }
        }
    }
    if let Some((choice, x)) = best {
        if let Some((k, p)) = choice.swap {
            pairs[k] = p;
        }
        let [a, b] = pairs.swap_remove(choice.host);
        let mut t = [choice.third, a, b];
        polish_trio(ctx, rng, &mut pairs, &mut t);
        trio = Some(t);
        left.retain(|&v| v != x);
    }
    unplaced.extend(left);
    Solution {
        pairs,
        trio,
        unplaced,
        lower_bound,
        proven: false,
        method: "matching",
    }
}

/// Pairs `free` people among themselves over allowed pairs, the longest-ago
/// meetings first. They are pairwise met or excluded (the matching is maximum).
fn pair_leftovers(ctx: &Ctx, rng: &mut ChaCha8Rng, free: &[u32]) -> Vec<[u32; 2]> {
    let mut out = Vec::new();
    if free.len() < 2 {
        return out;
    }
    let mut taken = vec![false; free.len()];
    if free.len() <= 3000 {
        let mut cand: Vec<(Cost, u32, u32, u32)> = Vec::new();
        for i in 0..free.len() {
            for j in i + 1..free.len() {
                if ctx.allowed(free[i], free[j]) {
                    cand.push((ctx.cost(free[i], free[j]), rng.random(), i as u32, j as u32));
                }
            }
        }
        cand.sort_unstable_by(|x, y| {
            if x.0.better(&y.0) {
                std::cmp::Ordering::Less
            } else if y.0.better(&x.0) {
                std::cmp::Ordering::Greater
            } else {
                x.1.cmp(&y.1)
            }
        });
        for (_, _, i, j) in cand {
            if !taken[i as usize] && !taken[j as usize] {
                taken[i as usize] = true;
                taken[j as usize] = true;
                out.push([free[i as usize], free[j as usize]]);
            }
        }
    } else {
        let mut order: Vec<usize> = (0..free.len()).collect();
        order.shuffle(rng);
        for (k, &i) in order.iter().enumerate() {
            if taken[i] {
                continue;
            }
            let mut best: Option<(Cost, usize)> = None;
            for &j in order[k + 1..].iter().take(256) {
                if !taken[j] && ctx.allowed(free[i], free[j]) {
                    let c = ctx.cost(free[i], free[j]);
                    if best.as_ref().is_none_or(|(b, _)| c.better(b)) {
                        best = Some((c, j));
                    }
                }
            }
            if let Some((_, j)) = best {
                taken[i] = true;
                taken[j] = true;
                out.push([free[i], free[j]]);
            }
        }
    }
    out
}

/// Handing a pair's member to the person left over: (pair index, new pair).
type Swap = Option<(usize, [u32; 2])>;

struct TrioChoice {
    third: u32,
    host: usize,
    swap: Swap,
    /// Change in (pairs that cannot meet, repeats, recency, same-group pairs)
    /// against the current pairs; signed because the optional rewrite can remove a repeat.
    delta: Delta,
    rotation: f64,
    tiebreak: u32,
}

impl TrioChoice {
    fn beats(&self, o: &TrioChoice) -> bool {
        let (a, b) = (self.delta, o.delta);
        if a.0 != b.0 {
            return a.0 < b.0;
        }
        if a.1 != b.1 {
            return a.1 < b.1;
        }
        if (a.2 - b.2).abs() > 1e-9 {
            return a.2 < b.2;
        }
        if (self.rotation - o.rotation).abs() > 1e-9 {
            return self.rotation < o.rotation;
        }
        if a.3 != b.3 {
            return a.3 < b.3;
        }
        self.tiebreak < o.tiebreak
    }
}

type Delta = (i64, i64, f64, i64);

fn signed(c: Cost) -> Delta {
    (
        i64::from(c.cant),
        i64::from(c.repeats),
        c.recency,
        i64::from(c.same),
    )
}

/// Who could be the third person: the one left over, or (for a fairer
/// rotation) someone freed by handing their partner to the one left over,
/// when that pair is also never-met.
fn leftover_candidates(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    pairs: &[[u32; 2]],
    x: u32,
) -> Vec<(u32, Swap)> {
    let mut out = vec![(x, None)];
    if pairs.is_empty() {
        return out;
    }
    for _ in 0..64 {
        if out.len() > 16 {
            break;
        }
        let k = rng.random_range(0..pairs.len());
        let [a, b] = pairs[k];
        for (keep, freed) in [(a, b), (b, a)] {
            if ctx.fresh(x, keep) {
                out.push((freed, Some((k, [x, keep]))));
                break;
            }
        }
    }
    out
}

/// The best pair for `c` to join, given an optional pair rewrite.
fn best_host(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    pairs: &[[u32; 2]],
    c: u32,
    swap: Swap,
) -> Option<TrioChoice> {
    let swap_delta = swap.map_or((0, 0, 0.0, 0), |(k, [p, q])| {
        let [a, b] = pairs[k];
        let (d, o) = (signed(ctx.cost(p, q)), signed(ctx.cost(a, b)));
        (d.0 - o.0, d.1 - o.1, d.2 - o.2, d.3 - o.3)
    });
    let mut best: Option<TrioChoice> = None;
    for (h, &orig) in pairs.iter().enumerate() {
        let [a, b] = match swap {
            Some((k, p)) if k == h => p,
            _ => orig,
        };
        if !ctx.allowed(c, a) || !ctx.allowed(c, b) {
            continue;
        }
        let add = signed(ctx.cost(c, a) + ctx.cost(c, b));
        let choice = TrioChoice {
            third: c,
            host: h,
            swap,
            delta: (
                add.0 + swap_delta.0,
                add.1 + swap_delta.1,
                add.2 + swap_delta.2,
                add.3 + swap_delta.3,
            ),
            rotation: ctx.trio_penalty(c) + ctx.trio_penalty(a) + ctx.trio_penalty(b),
            tiebreak: rng.random(),
        };
        if best.as_ref().is_none_or(|b| choice.beats(b)) {
            best = Some(choice);
        }
    }
    best
}

/// Swaps members between the group of three and the pairs while that strictly
/// improves the cost (which ranks how recently the three were last in a group
/// of three above same-group pairs).
fn polish_trio(ctx: &Ctx, rng: &mut ChaCha8Rng, pairs: &mut [[u32; 2]], t: &mut [u32; 3]) {
    let p = pairs.len();
    if p == 0 {
        return;
    }
    let trio_cost =
        |t: &[u32; 3]| ctx.cost(t[0], t[1]) + ctx.cost(t[0], t[2]) + ctx.cost(t[1], t[2]);
    let rot = |t: &[u32; 3]| t.iter().map(|&v| ctx.trio_penalty(v)).sum::<f64>();
    let allowed3 = |t: &[u32; 3]| {
        ctx.allowed(t[0], t[1]) && ctx.allowed(t[0], t[2]) && ctx.allowed(t[1], t[2])
    };
    for _pass in 0..4 {
        let mut changed = false;
        for slot in 0..3 {
            let full = p <= 2048;
            let tries = if full { p } else { 256 };
            let start = rng.random_range(0..p);
            for k in 0..tries {
                let j = if full {
                    (start + k) % p
                } else {
                    rng.random_range(0..p)
                };
                let mut now_cost = trio_cost(t) + ctx.cost(pairs[j][0], pairs[j][1]);
                now_cost.rotation = rot(t);
                let mut done = false;
                for side in 0..2 {
                    let (c, d) = (pairs[j][side], pairs[j][1 - side]);
                    let mut nt = *t;
                    let out = nt[slot];
                    nt[slot] = c;
                    if !allowed3(&nt) || !ctx.allowed(out, d) {
                        continue;
                    }
                    let mut alt = trio_cost(&nt) + ctx.cost(out, d);
                    alt.rotation = rot(&nt);
                    if alt.better(&now_cost) {
                        *t = nt;
                        pairs[j] = [out, d];
                        done = true;
                        break;
                    }
                }
                if done {
                    changed = true;
                    break;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Pair-swap local search: re-pair two pairs whenever that strictly improves
/// (repeats, recency of repeats, same-group pairs). Never adds a repeat.
fn improve(ctx: &Ctx, rng: &mut ChaCha8Rng, pairs: &mut [[u32; 2]]) {
    let p = pairs.len();
    if p < 2 {
        return;
    }
    for _pass in 0..4 {
        let mut changed = false;
        for i in 0..p {
            let [u, v] = pairs[i];
            let ci = ctx.cost(u, v);
            if ci.cant == 0 && ci.repeats == 0 && ci.same == 0 {
                continue;
            }
            let full = p <= 2048;
            let tries = if full { p } else { 128 };
            let start = rng.random_range(0..p);
            for t in 0..tries {
                let j = if full {
                    (start + t) % p
                } else {
                    rng.random_range(0..p)
                };
                if j == i {
                    continue;
                }
                let [a, b] = pairs[j];
                let now = ci + ctx.cost(a, b);
                let mut done = false;
                for [x, y] in [[a, b], [b, a]] {
                    if !ctx.allowed(u, x) || !ctx.allowed(v, y) {
                        continue;
                    }
                    let alt = ctx.cost(u, x) + ctx.cost(v, y);
                    if alt.better(&now) {
                        pairs[i] = [u, x];
                        pairs[j] = [v, y];
                        done = true;
                        break;
                    }
                }
                if done {
                    changed = true;
                    break;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Above this many candidate edges the weighted matching keeps, per person,
/// only a sample of partners from other groups (plus the current partner).
const WEIGHTED_EDGES_MAX: usize = 120_000;
const WEIGHTED_SAMPLE: usize = 24;

/// The most cross-group pairs among the people whose pairs are never-met and
/// can meet: a maximum-weight perfect matching of them over those pairs (weight
/// 2 across groups, 1 within), so the exchange never costs a repeat or a pair
/// that cannot meet. Exact when every candidate edge fits the budget; otherwise
/// over the current pairs plus sampled cross-group edges, never worse than now.
fn most_cross(ctx: &Ctx, rng: &mut ChaCha8Rng, pairs: &mut [[u32; 2]], explicit: Option<&Csr>) {
    let Some(adj) = explicit else { return };
    if !ctx.prefer_cross {
        return;
    }
    let good: Vec<usize> = (0..pairs.len())
        .filter(|&k| {
            let [a, b] = pairs[k];
            ctx.fresh(a, b) && ctx.can_meet(a, b)
        })
        .collect();
    let same_now = good
        .iter()
        .filter(|&&k| !ctx.cross(pairs[k][0], pairs[k][1]))
        .count();
    if same_now == 0 {
        return;
    }
    let mut local = vec![NONE; ctx.n];
    let mut people = Vec::with_capacity(good.len() * 2);
    for &k in &good {
        for v in pairs[k] {
            local[v as usize] = people.len() as u32;
            people.push(v);
        }
    }
    let weight = |u: u32, v: u32| if ctx.cross(u, v) { 2 } else { 1 };
    let mut edges: Vec<super::weighted::Edge> = Vec::new();
    let mut total = 0usize;
    for &u in &people {
        total += adj
            .row(u)
            .iter()
            .filter(|&&v| local[v as usize] != NONE)
            .count();
    }
    if total / 2 <= WEIGHTED_EDGES_MAX {
        for &u in &people {
            for &v in adj.row(u) {
                if u < v && local[v as usize] != NONE {
                    edges.push((local[u as usize], local[v as usize], weight(u, v)));
                }
            }
        }
    } else {
        for &k in &good {
            let [a, b] = pairs[k];
            let (x, y) = (local[a as usize], local[b as usize]);
            edges.push((x.min(y), x.max(y), weight(a, b)));
        }
        for &u in &people {
            let row: Vec<u32> = adj
                .row(u)
                .iter()
                .copied()
                .filter(|&v| local[v as usize] != NONE && ctx.cross(u, v))
                .collect();
            for _ in 0..WEIGHTED_SAMPLE.min(row.len()) {
                let v = row[rng.random_range(0..row.len())];
                let (x, y) = (local[u as usize], local[v as usize]);
                edges.push((x.min(y), x.max(y), 2));
            }
        }
        edges.sort_unstable();
        edges.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    }
    let mate = super::weighted::max_weight_matching(people.len(), &edges, true);
    if mate.contains(&NONE) {
        return;
    }
    let mut new_pairs = Vec::with_capacity(good.len());
    let mut same = 0;
    for (i, &m) in mate.iter().enumerate() {
        if (i as u32) < m {
            let (a, b) = (people[i], people[m as usize]);
            same += !ctx.cross(a, b) as usize;
            new_pairs.push([a, b]);
        }
    }
    if same < same_now {
        for (&k, p) in good.iter().zip(new_pairs) {
            pairs[k] = p;
        }
    }
}

fn total_cost(ctx: &Ctx, sol: &Solution) -> Cost {
    let mut c = Cost::default();
    for &[a, b] in &sol.pairs {
        c = c + ctx.cost(a, b);
    }
    if let Some([a, b, d]) = sol.trio {
        c = c + ctx.cost(a, b) + ctx.cost(a, d) + ctx.cost(b, d);
    }
    c
}

/// Exact search for odd N: tries every trio containing at least two never-met
/// pairs (any other trio costs at least two repeats more than the lower bound,
/// which the heuristic never exceeds) and computes the best matching of the
/// rest incrementally. Returns a better solution if one exists and whether the
/// search ran to completion within its budget.
fn exact_trio(
    ctx: &Ctx,
    g: &Graph,
    adj: &Csr,
    fresh_mate: &[u32],
    lower_bound: u32,
    current: u32,
) -> (Option<Solution>, bool) {
    let n = ctx.n;
    let nu = (fresh_mate.iter().filter(|&&x| x != NONE).count() / 2) as u32;
    let rest_pairs = (n as u32 - 3) / 2;
    let mut target = current;
    let mut best: Option<Solution> = None;
    let mut mt = Matcher::new(n);
    let mut spent: u64 = 0;
    let mut gap = false;
    for x in 0..n as u32 {
        let nb = adj.row(x);
        for i in 0..nb.len() {
            for j in i + 1..nb.len() {
                let (a, b) = (nb[i], nb[j]);
                if !ctx.allowed(a, b) || !ctx.can_meet(a, b) {
                    continue;
                }
                let inner = ctx.met_age(a, b).is_some() as u32;
                // Removing a trio that holds a never-met pair leaves at most ν−1.
                if inner + lower_bound >= target {
                    continue;
                }
                spent += n as u64 + mt.work;
                mt.work = 0;
                if spent > TRIO_SEARCH_BUDGET {
                    return (best, false);
                }
                let t = [x, a, b];
                mt.mate.copy_from_slice(fresh_mate);
                mt.dead.fill(false);
                let mut freed = Vec::with_capacity(3);
                for &v in &t {
                    mt.dead[v as usize] = true;
                    let w = mt.mate[v as usize];
                    if w != NONE {
                        mt.mate[w as usize] = NONE;
                        mt.mate[v as usize] = NONE;
                        if !t.contains(&w) {
                            freed.push(w);
                        }
                    }
                }
                let mut size = nu
                    - (t.iter()
                        .filter(|&&v| fresh_mate[v as usize] != NONE)
                        .count() as u32
                        + freed.len() as u32)
                        / 2;
                for k in 0..freed.len() {
                    let r = freed[k];
                    if mt.mate[r as usize] == NONE && mt.augment(g, r, &freed[k + 1..]) {
                        size += 1;
                    }
                }
                let cost = inner + rest_pairs - size;
                if cost >= target {
                    continue;
                }
                // The rest: the matching plus forced pairs among the others.
                let free: Vec<u32> = (0..n as u32)
                    .filter(|&v| mt.mate[v as usize] == NONE && !t.contains(&v))
                    .collect();
                let mut rng = ChaCha8Rng::seed_from_u64(u64::from(x));
                let extra = pair_leftovers(ctx, &mut rng, &free);
                if extra.len() * 2 != free.len() {
                    gap = true;
                    continue;
                }
                let mut pairs = matched_pairs(&mt.mate);
                pairs.retain(|p| !t.contains(&p[0]));
                pairs.extend(extra);
                target = cost;
                best = Some(Solution {
                    pairs,
                    trio: Some(t),
                    unplaced: Vec::new(),
                    lower_bound,
                    proven: false,
                    method: "matching+trio-search",
                });
                if target == lower_bound {
                    return (best, true);
                }
            }
        }
    }
    (best, !gap)
}

type Choice = (u8, u8);
type Memo = Vec<Option<Option<(Cost, Choice)>>>;
type Grouping = (Vec<[u32; 2]>, Option<[u32; 3]>);

/// Exhaustive optimum for tiny rounds (bitmask dynamic programme over who is
/// still unplaced). `None` when exclusions leave no complete grouping.
fn exhaustive(ctx: &Ctx) -> Option<Grouping> {
    let n = ctx.n;
    let full = (1usize << n) - 1;
    let mut memo: Memo = vec![None; (full + 1) * 2];
    fn go(ctx: &Ctx, rem: usize, trio: bool, memo: &mut Memo) -> Option<Cost> {
        if rem == 0 {
            return (!trio).then(Cost::default);
        }
        let key = rem * 2 + trio as usize;
        if let Some(r) = memo[key] {
            return r.map(|x| x.0);
        }
        let i = rem.trailing_zeros() as usize;
        let mut best: Option<(Cost, Choice)> = None;
        let consider = |c: Cost, ch: Choice, best: &mut Option<(Cost, Choice)>| {
            if best.as_ref().is_none_or(|(b, _)| c.better(b)) {
                *best = Some((c, ch));
            }
        };
        for j in i + 1..ctx.n {
            if rem & (1 << j) == 0 || !ctx.allowed(i as u32, j as u32) {
                continue;
            }
            let cij = ctx.cost(i as u32, j as u32);
            if let Some(r) = go(ctx, rem & !(1 << i) & !(1 << j), trio, memo) {
                consider(cij + r, (j as u8, u8::MAX), &mut best);
            }
            if trio {
                for k in j + 1..ctx.n {
                    if rem & (1 << k) == 0
                        || !ctx.allowed(i as u32, k as u32)
                        || !ctx.allowed(j as u32, k as u32)
                    {
                        continue;
                    }
                    let mut c = cij + ctx.cost(i as u32, k as u32) + ctx.cost(j as u32, k as u32);
                    c.rotation = [i, j, k].iter().map(|&v| ctx.trio_penalty(v as u32)).sum();
                    if let Some(r) = go(ctx, rem & !(1 << i) & !(1 << j) & !(1 << k), false, memo) {
                        consider(c + r, (j as u8, k as u8), &mut best);
                    }
                }
            }
        }
        memo[key] = Some(best);
        best.map(|x| x.0)
    }
    go(ctx, full, n % 2 == 1, &mut memo)?;
    let (mut rem, mut trio_left) = (full, n % 2 == 1);
    let (mut pairs, mut trio) = (Vec::new(), None);
    while rem != 0 {
        let i = rem.trailing_zeros();
        let (_, (j, k)) = memo[rem * 2 + trio_left as usize]??;
        rem &= !(1 << i) & !(1 << j);
        if k == u8::MAX {
            pairs.push([i, u32::from(j)]);
        } else {
            rem &= !(1 << k);
            trio = Some([i, u32::from(j), u32::from(k)]);
            trio_left = false;
        }
    }
    Some((pairs, trio))
}

/// A finished grouping in dense indices, whatever produced it.
pub(crate) struct Placement<'a> {
    pub groups: Vec<&'a [u32]>,
    pub unplaced: &'a [u32],
    pub lower_bound: u32,
    pub proven: bool,
    pub method: &'static str,
    /// The trial's intended group size, which decides how an odd-sized group is explained.
    pub group_size: usize,
}

pub(crate) fn outcome(ctx: &Ctx, sol: &Placement, seed: u64) -> Outcome {
    let mut groups = Vec::with_capacity(sol.groups.len());
    let (mut pairs_n, mut repeats, mut cross, mut cant) = (0u32, 0u32, 0u32, 0u32);
    // "No repeat-free option" is only said when the lower bound proves it.
    let qualifier = if sol.proven {
        "fewest repeats possible"
    } else if sol.lower_bound > 0 {
        "no repeat-free option found"
    } else {
        "fewest repeats found"
    };
    let mut add = |members: &[u32]| {
        let mut parts: Vec<String> = Vec::new();
        let mut rep = 0;
        let mut met_notes = Vec::new();
        for i in 0..members.len() {
            for j in i + 1..members.len() {
                let (a, b) = (members[i], members[j]);
                pairs_n += 1;
                cross += ctx.cross(a, b) as u32;
                cant += !ctx.can_meet(a, b) as u32;
                if let Some(age) = ctx.met_age(a, b) {
                    rep += 1;
                    let when = if age == 1 {
                        "last round".to_string()
                    } else {
                        format!("{age} rounds ago")
                    };
                    met_notes.push(if members.len() == 2 {
                        format!("met {when}")
                    } else {
                        format!(
                            "{} and {} met {when}",
                            ctx.ids[a as usize], ctx.ids[b as usize]
                        )
                    });
                }
            }
        }
        repeats += rep;
        match (members.len(), sol.group_size) {
            (3, 3) => parts.push("group of three".to_string()),
            (3, _) => parts.push("group of three (odd number of people)".to_string()),
            (2, 3) => parts
                .push("a pair, as the number of people does not divide into threes".to_string()),
            _ => {}
        }
        if met_notes.is_empty() {
            parts.push(
                if members.len() == 2 {
                    "never met"
                } else {
                    "none have met"
                }
                .to_string(),
            );
        } else {
            parts.push(format!("{} ({qualifier})", met_notes.join(", ")));
        }
        let names: Vec<&str> = members
            .iter()
            .map(|&m| ctx.group[m as usize])
            .filter(|&g| g != NONE)
            .map(|g| ctx.group_names[g as usize])
            .collect();
        if names.len() == members.len() {
            if names.iter().all(|s| *s == names[0]) {
                parts.push(if names.len() == 2 {
                    format!("both {}", names[0])
                } else {
                    format!("all {}", names[0])
                });
            } else {
                let (last, init) = names.split_last().expect("non-empty");
                parts.push(format!("{} and {last}", init.join(", ")));
            }
        }
        let reach: Vec<Reach> = members.iter().map(|&m| ctx.reach[m as usize]).collect();
        let how = how_group_meets(&reach, ctx.same_site_only);
        if let HowToMeet::No { reason } = &how {
            parts.insert(0, format!("cannot meet: {reason}"));
        }
        groups.push(Group {
            members: members
                .iter()
                .map(|&m| ctx.ids[m as usize].to_string())
                .collect(),
            repeats: rep,
            reason: parts.join("; "),
            how,
        });
    };
    for g in &sol.groups {
        add(g);
    }
    let unplaced = sol
        .unplaced
        .iter()
        .map(|&u| Unplaced {
            id: ctx.ids[u as usize].to_string(),
            why: why_unplaced(ctx, u),
        })
        .collect();
    Outcome {
        seed,
        groups,
        unplaced,
        stats: Stats {
            pairs: pairs_n,
            repeats,
            cross_group_pairs: cross,
            cant_meet_pairs: cant,
            lower_bound: sol.lower_bound,
            proven_optimal: sol.proven,
            method: sol.method,
        },
    }
}

fn why_unplaced(ctx: &Ctx, u: u32) -> String {
    if ctx.n == 1 {
        return "the only participant this round: nobody to pair with".to_string();
    }
    let ok: Vec<u32> = (0..ctx.n as u32)
        .filter(|&v| ctx.allowed(u, v))
        .take(4)
        .collect();
    if ok.is_empty() {
        return "hard exclusions (do-not-pair lists or the never-together attribute) rule out everyone else this round"
            .to_string();
    }
    let names: Vec<&str> = ok.iter().take(3).map(|&v| ctx.ids[v as usize]).collect();
    let more = if ok.len() > 3 { " and others" } else { "" };
    format!(
        "hard exclusions leave no grouping that places everyone; the people they may join ({}{more}) are needed to place others",
        names.join(", ")
    )
}
