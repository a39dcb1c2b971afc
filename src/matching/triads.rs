//! Groups of three (`Rules::group_size == 3`): a seeded randomised greedy
//! construction, then swaps of members between groups while the summed cost
//! strictly improves. Splitting people into threes with fewest repeats is
//! NP-hard, so unlike the pair path there is no exact core; small rounds get
//! several restarts, and up to 15 people an exhaustive search settles it. A
//! lower bound on the repeats says when no repeat-free grouping can exist.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::engine::{outcome, Placement};
use super::index::{Cost, Ctx, NONE};
use super::{Instance, Outcome};

/// Companions sampled per person by the greedy once the pool is large.
const CANDIDATES: usize = 160;
/// The best first companions the greedy then completes with a second one.
const FIRST_CHOICES: usize = 4;
/// Up to this many unassigned people the greedy tries every two of them.
const EXACT_POOL: usize = 40;
/// Up to this many groups a swap partner is looked for in every group.
const FULL_SCAN_GROUPS: usize = 1024;
/// Above that, groups sampled per member and pass.
const SWAP_SAMPLES: usize = 48;
const MAX_PASSES: usize = 24;
/// Swap evaluations allowed per local search; keeps 10,000 people well under a second.
const SWAP_BUDGET: u64 = 2_500_000;
/// Greedy and local search runs with different orders: `RESTART_PEOPLE / N`, at
/// least one and at most `RESTARTS` (so 24 runs up to 60 people, one from 721).
const RESTART_PEOPLE: usize = 1440;
const RESTARTS: usize = 24;
/// How many times someone is set aside to resolve hard exclusions before giving up on
/// every group that still breaks one.
const MAX_REMOVALS: usize = 8;

/// Cost of a set of groups with the number of excluded pairs in front: the
/// search may pass through groups that break an exclusion, never end in one.
#[derive(Debug, Clone, Copy, Default)]
struct Score {
    excluded: u32,
    cost: Cost,
}

impl std::ops::Add for Score {
    type Output = Score;
    fn add(self, o: Score) -> Score {
        Score {
            excluded: self.excluded + o.excluded,
            cost: self.cost + o.cost,
        }
    }
}

impl Score {
    fn better(&self, o: &Score) -> bool {
        if self.excluded != o.excluded {
            return self.excluded < o.excluded;
        }
        self.cost.better(&o.cost)
    }

    /// Nothing left to gain: no exclusion, no pair that cannot meet, no repeat, no same-group pair.
    fn perfect(&self) -> bool {
        self.excluded == 0 && self.cost.cant == 0 && self.cost.repeats == 0 && self.cost.same == 0
    }
}

/// A group of two or three, by dense index.
#[derive(Debug, Clone, Copy)]
struct Grp {
    m: [u32; 3],
    len: u8,
}

impl Grp {
    fn members(&self) -> &[u32] {
        &self.m[..self.len as usize]
    }
}

#[inline]
fn pair_score(ctx: &Ctx, u: u32, v: u32) -> Score {
    Score {
        excluded: !ctx.allowed(u, v) as u32,
        cost: ctx.cost(u, v),
    }
}

fn group_score(ctx: &Ctx, g: &[u32]) -> Score {
    let mut s = Score::default();
    for i in 0..g.len() {
        for &b in &g[i + 1..] {
            s = s + pair_score(ctx, g[i], b);
        }
    }
    s
}

/// How many groups of three and pairs `m` people make: threes, with one pair
/// for a remainder of 2 and two pairs for a remainder of 1.
pub(crate) fn shape(m: usize) -> (usize, usize) {
    match (m, m % 3) {
        (0 | 1, _) => (0, 0),
        (_, 0) => (m / 3, 0),
        (_, 2) => ((m - 2) / 3, 1),
        _ => ((m - 4) / 3, 2),
    }
}

pub(crate) fn run(inst: &Instance, seed: u64) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ctx = Ctx::new(inst, &mut rng);
    let (mut groups, unplaced) = solve(&ctx, &mut rng);
    let mut exact = false;
    if unplaced.is_empty() && ctx.n <= EXHAUSTIVE_MAX {
        let everyone: Vec<u32> = (0..ctx.n as u32).collect();
        if let Some(best) = exhaustive(&ctx, &everyone) {
            groups = best;
            exact = true;
        }
    }
    let repeats: u32 = groups
        .iter()
        .map(|g| group_score(&ctx, g.members()).cost.repeats)
        .sum();
    let placed: Vec<u32> = groups
        .iter()
        .flat_map(|g| g.members().iter().copied())
        .collect();
    let lower_bound = if exact {
        repeats
    } else {
        lower_bound(&ctx, &placed).min(repeats)
    };
    let placement = Placement {
        groups: groups.iter().map(Grp::members).collect(),
        unplaced: &unplaced,
        lower_bound,
        proven: unplaced.is_empty() && (exact || repeats == lower_bound),
        method: if exact {
            "groups-of-three-exhaustive"
        } else {
            "groups-of-three"
        },
        group_size: 3,
    };
    outcome(&ctx, &placement, seed)
}

/// Rounds up to this size are solved exactly (a dynamic programme over who is
/// still ungrouped), so small trials always get the fewest repeats possible.
const EXHAUSTIVE_MAX: usize = 15;

/// The fewest repeats any grouping of `people` (in the sizes [`shape`] gives)
/// can have: each pair is a repeat unless it has never met, and a person has at
/// most two never-met companions in a group of three and one in a pair, nor more
/// than they have never met at all; the never-met pairs are at most half the sum
/// of those limits.
fn lower_bound(ctx: &Ctx, people: &[u32]) -> u32 {
    let (trios, pairs) = shape(people.len());
    let total = 3 * trios + pairs;
    let mut member = vec![false; ctx.n];
    for &u in people {
        member[u as usize] = true;
    }
    let mut team_size = vec![0usize; ctx.n];
    for &u in people {
        let t = ctx.team[u as usize];
        if t != NONE {
            team_size[t as usize] += 1;
        }
    }
    let (mut ends, mut two) = (0usize, 0usize);
    for &u in people {
        // Cheap estimate first; count exactly only when it says fewer than two.
        let team = match ctx.team[u as usize] {
            NONE => 0,
            t => team_size[t as usize] - 1,
        };
        let estimate = (people.len() - 1).saturating_sub(team + ctx.blocked.row(u).len());
        let fresh = if estimate >= 2 {
            2
        } else {
            people.iter().filter(|&&v| ctx.fresh(u, v)).take(2).count()
        };
        ends += fresh.min(1);
        two += (fresh >= 2) as usize;
    }
    // Trio seats go to people with two never-met companions first (each adds one
    // more possible end).
    let ends = ends + two.min(3 * trios);
    (total - (ends / 2).min(total)) as u32
}

type Pick = (u32, u32, u32);
type ThreesMemo = Vec<Option<Option<(Cost, Pick)>>>;

/// The best grouping of `people` (at most [`EXHAUSTIVE_MAX`]) by the engine's
/// full order; `None` when exclusions leave no grouping of them all.
fn exhaustive(ctx: &Ctx, people: &[u32]) -> Option<Vec<Grp>> {
    let m = people.len();
    if m < 2 {
        return None;
    }
    let (_, pairs) = shape(m);
    let full = (1usize << m) - 1;
    let mut memo: ThreesMemo = vec![None; (full + 1) * 3];
    fn go(ctx: &Ctx, p: &[u32], rem: usize, pairs: usize, memo: &mut ThreesMemo) -> Option<Cost> {
        if rem == 0 {
            return (pairs == 0).then(Cost::default);
        }
        let key = rem * 3 + pairs;
        if let Some(r) = memo[key] {
            return r.map(|x| x.0);
        }
        let i = rem.trailing_zeros() as usize;
        let mut best: Option<(Cost, Pick)> = None;
        for j in i + 1..p.len() {
            if rem & (1 << j) == 0 || !ctx.allowed(p[i], p[j]) {
                continue;
            }
            let cij = ctx.cost(p[i], p[j]);
            if pairs > 0 {
                if let Some(r) = go(ctx, p, rem & !(1 << i) & !(1 << j), pairs - 1, memo) {
                    let c = cij + r;
                    if best.as_ref().is_none_or(|(b, _)| c.better(b)) {
                        best = Some((c, (i as u32, j as u32, u32::MAX)));
                    }
                }
            }
            for k in j + 1..p.len() {
                if rem & (1 << k) == 0 || !ctx.allowed(p[i], p[k]) || !ctx.allowed(p[j], p[k]) {
                    continue;
                }
                let c3 = cij + ctx.cost(p[i], p[k]) + ctx.cost(p[j], p[k]);
                let rest = rem & !(1 << i) & !(1 << j) & !(1 << k);
                if let Some(r) = go(ctx, p, rest, pairs, memo) {
                    let c = c3 + r;
                    if best.as_ref().is_none_or(|(b, _)| c.better(b)) {
                        best = Some((c, (i as u32, j as u32, k as u32)));
                    }
                }
            }
        }
        memo[key] = Some(best);
        best.map(|x| x.0)
    }
    go(ctx, people, full, pairs, &mut memo)?;
    let (mut rem, mut pairs_left) = (full, pairs);
    let mut out = Vec::new();
    while rem != 0 {
        let (_, (i, j, k)) = memo[rem * 3 + pairs_left]??;
        rem &= !(1 << i) & !(1 << j);
        if k == u32::MAX {
            pairs_left -= 1;
            out.push(Grp {
                m: [people[i as usize], people[j as usize], NONE],
                len: 2,
            });
        } else {
            rem &= !(1 << k);
            out.push(Grp {
                m: [people[i as usize], people[j as usize], people[k as usize]],
                len: 3,
            });
        }
    }
    Some(out)
}

/// Groups everyone who can be grouped; returns the groups and the people left out.
fn solve(ctx: &Ctx, rng: &mut ChaCha8Rng) -> (Vec<Grp>, Vec<u32>) {
    let mut unplaced = Vec::new();
    let mut team_size = vec![0usize; ctx.n];
    for &t in &ctx.team {
        if t != NONE {
            team_size[t as usize] += 1;
        }
    }
    let mut active: Vec<u32> = Vec::with_capacity(ctx.n);
    for u in 0..ctx.n as u32 {
        if has_partner(ctx, &team_size, u) {
            active.push(u);
        } else {
            unplaced.push(u);
        }
    }
    for attempt in 0..=MAX_REMOVALS {
        if active.len() < 2 {
            unplaced.append(&mut active);
            return (Vec::new(), unplaced);
        }
        let mut groups = best_of_restarts(ctx, rng, &active);
        let broken: Vec<usize> = (0..groups.len())
            .filter(|&i| group_score(ctx, groups[i].members()).excluded > 0)
            .collect();
        if broken.is_empty() {
            return (groups, unplaced);
        }
        if attempt == MAX_REMOVALS {
            // Still stuck: leave out everyone in a group that breaks an exclusion.
            // The other groups stay as they are, so nobody else is affected.
            for &i in broken.iter().rev() {
                unplaced.extend_from_slice(groups.swap_remove(i).members());
            }
            return (groups, unplaced);
        }
        // Set aside the hardest person to place among those involved and try again.
        let mut victim = (usize::MAX, NONE);
        for &i in &broken {
            for &u in groups[i].members() {
                let options = active.iter().filter(|&&v| ctx.allowed(u, v)).count();
                if options < victim.0 {
                    victim = (options, u);
                }
            }
        }
        active.retain(|&v| v != victim.1);
        unplaced.push(victim.1);
    }
    unreachable!("the last attempt always returns")
}

/// Whether anyone at all may be grouped with `u`; scans only when the counts
/// cannot rule it in (teams and do-not-pair lists are usually small).
fn has_partner(ctx: &Ctx, team_size: &[usize], u: u32) -> bool {
    let team = match ctx.team[u as usize] {
        NONE => 0,
        t => team_size[t as usize] - 1,
    };
    let excluded = ctx.excl.row(u).len();
    ctx.n - 1 > team + excluded || (0..ctx.n as u32).any(|v| ctx.allowed(u, v))
}

/// Several construction and search runs on smaller rounds, one on large ones; the best wins.
fn best_of_restarts(ctx: &Ctx, rng: &mut ChaCha8Rng, active: &[u32]) -> Vec<Grp> {
    let runs = (RESTART_PEOPLE / active.len()).clamp(1, RESTARTS);
    let mut best: Option<(Score, Vec<Grp>)> = None;
    let mut order = active.to_vec();
    for _ in 0..runs {
        let mut groups = greedy(ctx, rng, &order);
        local_search(ctx, rng, &mut groups);
        let total = groups
            .iter()
            .fold(Score::default(), |s, g| s + group_score(ctx, g.members()));
        if best.as_ref().is_none_or(|(b, _)| total.better(b)) {
            let done = total.perfect();
            best = Some((total, groups));
            if done {
                break;
            }
        }
        order.shuffle(rng);
    }
    best.expect("at least one run").1
}

/// Greedy start: each next person, in `order`, takes the best two companions
/// (or one, for the pairs at the end) among those not yet grouped.
fn greedy(ctx: &Ctx, rng: &mut ChaCha8Rng, order: &[u32]) -> Vec<Grp> {
    let (mut trios, mut pairs) = shape(order.len());
    let mut pool = order.to_vec();
    let mut pos = vec![NONE; ctx.n];
    for (i, &u) in pool.iter().enumerate() {
        pos[u as usize] = i as u32;
    }
    let remove = |x: u32, pool: &mut Vec<u32>, pos: &mut Vec<u32>| {
        let i = pos[x as usize] as usize;
        let last = pool.pop().expect("pool holds x");
        if i < pool.len() {
            pool[i] = last;
            pos[last as usize] = i as u32;
        }
        pos[x as usize] = NONE;
    };
    let mut groups = Vec::with_capacity(trios + pairs);
    let mut cand: Vec<(u32, Score)> = Vec::with_capacity(CANDIDATES);
    for &u in order {
        if pos[u as usize] == NONE {
            continue;
        }
        remove(u, &mut pool, &mut pos);
        // The candidates: everyone left, or a window of the pool from a random start.
        cand.clear();
        let k = pool.len();
        let take = if k <= EXACT_POOL {
            k
        } else {
            CANDIDATES.min(k)
        };
        let start = if take == k { 0 } else { rng.random_range(0..k) };
        cand.extend((0..take).map(|i| {
            let v = pool[(start + i) % k];
            (v, pair_score(ctx, u, v))
        }));
        if trios > 0 {
            let (v, w) = best_two(ctx, &mut cand, k <= EXACT_POOL);
            remove(v, &mut pool, &mut pos);
            remove(w, &mut pool, &mut pos);
            groups.push(Grp {
                m: [u, v, w],
                len: 3,
            });
            trios -= 1;
        } else if pairs > 0 {
            let mut best = cand[0];
            for &c in &cand[1..] {
                if c.1.better(&best.1) {
                    best = c;
                }
            }
            remove(best.0, &mut pool, &mut pos);
            groups.push(Grp {
                m: [u, best.0, NONE],
                len: 2,
            });
            pairs -= 1;
        }
    }
    groups
}

/// The best two companions among `cand` (each with its score against the
/// person being placed): every two of them when `exact`, otherwise the best
/// few first companions each completed with the best second.
fn best_two(ctx: &Ctx, cand: &mut [(u32, Score)], exact: bool) -> (u32, u32) {
    if !exact {
        // Move the best few to the front (a short selection; ties keep the random order).
        let firsts = FIRST_CHOICES.min(cand.len() - 1);
        for i in 0..firsts {
            let mut b = i;
            for j in i + 1..cand.len() {
                if cand[j].1.better(&cand[b].1) {
                    b = j;
                }
            }
            cand.swap(i, b);
        }
    }
    let firsts = if exact {
        cand.len() - 1
    } else {
        FIRST_CHOICES.min(cand.len() - 1)
    };
    let mut best: Option<(Score, u32, u32)> = None;
    for i in 0..firsts {
        let (v, sv) = cand[i];
        for (j, &(w, sw)) in cand.iter().enumerate() {
            if j == i || (exact && j < i) {
                continue;
            }
            let s = sv + sw + pair_score(ctx, v, w);
            if best.as_ref().is_none_or(|(b, _, _)| s.better(b)) {
                best = Some((s, v, w));
            }
        }
    }
    let (_, v, w) = best.expect("at least two candidates for a group of three");
    (v, w)
}

/// Swaps one member of an imperfect group with one of another group whenever
/// that strictly improves the two groups' summed score; bounded passes and work.
fn local_search(ctx: &Ctx, rng: &mut ChaCha8Rng, groups: &mut [Grp]) {
    let g = groups.len();
    if g < 2 {
        return;
    }
    let mut score: Vec<Score> = groups
        .iter()
        .map(|x| group_score(ctx, x.members()))
        .collect();
    let mut work: u64 = 0;
    for _pass in 0..MAX_PASSES {
        let mut changed = false;
        for i in 0..g {
            if score[i].perfect() {
                continue;
            }
            // A group breaking an exclusion is always searched in full: it must be fixed.
            let full = g <= FULL_SCAN_GROUPS || score[i].excluded > 0;
            let tries = if full { g } else { SWAP_SAMPLES };
            for s in 0..groups[i].len as usize {
                if score[i].perfect() {
                    break;
                }
                let start = rng.random_range(0..g);
                'partners: for k in 0..tries {
                    let j = if full {
                        (start + k) % g
                    } else {
                        rng.random_range(0..g)
                    };
                    if j == i {
                        continue;
                    }
                    let before = score[i] + score[j];
                    for t in 0..groups[j].len as usize {
                        work += 1;
                        let (mut a, mut b) = (groups[i], groups[j]);
                        std::mem::swap(&mut a.m[s], &mut b.m[t]);
                        let (sa, sb) =
                            (group_score(ctx, a.members()), group_score(ctx, b.members()));
                        if (sa + sb).better(&before) {
                            (groups[i], groups[j]) = (a, b);
                            (score[i], score[j]) = (sa, sb);
                            changed = true;
                            break 'partners;
                        }
                    }
                }
                if work > SWAP_BUDGET {
                    return;
                }
            }
        }
        if !changed {
            break;
        }
    }
}
