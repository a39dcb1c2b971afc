//! Dense integer view of an [`Instance`]: people become indices in a seeded
//! random order, and the met / excluded relations become sorted per-person lists.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::meet::{Reach, Way, Ways};
use super::Instance;

pub(crate) const NONE: u32 = u32::MAX;

/// A small multiplicative hasher: ids are short strings and the maps are
/// rebuilt each round, so SipHash's DoS resistance buys nothing here.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(buf))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Compressed sparse rows: `nbr[off[u]..off[u+1]]` sorted ascending.
#[derive(Default)]
pub(crate) struct Csr {
    pub off: Vec<u32>,
    pub nbr: Vec<u32>,
    /// Parallel to `nbr` when the relation carries a value (last round met).
    pub val: Vec<u32>,
}

impl Csr {
    /// Builds from directed (u, v, value) triples; duplicates keep the largest value.
    fn build(n: usize, mut edges: Vec<(u32, u32, u32)>) -> Csr {
        edges.sort_unstable();
        let mut off = vec![0u32; n + 1];
        let mut nbr = Vec::with_capacity(edges.len());
        let mut val = Vec::with_capacity(edges.len());
        let mut last: Option<(u32, u32)> = None;
        for (u, v, r) in edges {
            if last == Some((u, v)) {
                // Sorted by value too, so the later duplicate is the newer one.
                *val.last_mut().expect("duplicate follows an entry") = r;
                continue;
            }
            last = Some((u, v));
            off[u as usize + 1] += 1;
            nbr.push(v);
            val.push(r);
        }
        for i in 0..n {
            off[i + 1] += off[i];
        }
        Csr { off, nbr, val }
    }

    #[inline]
    pub fn row(&self, u: u32) -> &[u32] {
        &self.nbr[self.off[u as usize] as usize..self.off[u as usize + 1] as usize]
    }

    #[inline]
    pub fn find(&self, u: u32, v: u32) -> Option<usize> {
        let lo = self.off[u as usize] as usize;
        self.row(u).binary_search(&v).ok().map(|k| lo + k)
    }
}

pub(crate) struct Ctx<'a> {
    pub n: usize,
    pub ids: Vec<&'a str>,
    /// Grouping attribute class per person (`NONE` when absent).
    pub group: Vec<u32>,
    pub group_names: Vec<&'a str>,
    /// Never-together class per person (`NONE` when absent).
    pub team: Vec<u32>,
    /// Who met whom (value: index of the latest round they met, 0 = oldest).
    pub met: Csr,
    /// Do-not-pair, symmetric.
    pub excl: Csr,
    /// Sorted union of `met` and `excl`: the non-neighbours in the never-met graph.
    pub blocked: Csr,
    pub rounds: u32,
    /// Latest round index in which the person was in a group of three or more.
    pub trio_last: Vec<u32>,
    pub prefer_cross: bool,
    /// Per past round: the round as pairs of indices, when it was a perfect
    /// pairing of exactly today's participants.
    pub perfect_rounds: Vec<Option<Vec<[u32; 2]>>>,
    /// What each person told us about meeting, for describing a group.
    pub reach: Vec<Reach<'a>>,
    /// Ways of meeting as bits (see [`Ways::bits`]).
    pub ways: Vec<u8>,
    /// Site class (trimmed, ASCII case folded) per person, `NONE` when blank.
    pub site: Vec<u32>,
    pub same_site_only: bool,
    /// Everyone can meet everyone: the can-meet tests are skipped.
    pub meet_all: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(inst: &'a Instance, rng: &mut ChaCha8Rng) -> Ctx<'a> {
        let n = inst.participants.len();
        let mut orig: Vec<u32> = (0..n as u32).collect();
        // A random relabelling makes every index-order scan below random too.
        orig.shuffle(rng);
        let ids: Vec<&str> = orig
            .iter()
            .map(|&o| inst.participants[o as usize].id.as_str())
            .collect();
        let mut index: FastMap<&str, u32> = FastMap::default();
        index.reserve(n);
        for (i, id) in ids.iter().enumerate() {
            index.insert(id, i as u32);
        }

        let classes = |f: &dyn Fn(usize) -> Option<&'a str>| -> (Vec<u32>, Vec<&'a str>) {
            let mut names: Vec<&'a str> = Vec::new();
            let mut map: FastMap<&'a str, u32> = FastMap::default();
            let v = (0..n)
                .map(|i| match f(i) {
                    Some(s) => *map.entry(s).or_insert_with(|| {
                        names.push(s);
                        names.len() as u32 - 1
                    }),
                    None => NONE,
                })
                .collect();
            (v, names)
        };
        let p = &inst.participants;
        let (group, group_names) = classes(&|i| p[orig[i] as usize].group.as_deref());
        let (team, _) = classes(&|i| p[orig[i] as usize].never_together.as_deref());

        let rounds = inst.history.len() as u32;
        let mut met_edges = Vec::new();
        let mut trio_last = vec![NONE; n];
        let mut perfect_rounds = Vec::with_capacity(inst.history.len());
        let mut members: Vec<u32> = Vec::new();
        let mut seen_in_round = vec![NONE; n];
        for (r, round) in inst.history.iter().enumerate() {
            let r = r as u32;
            let mut perfect = n % 2 == 0 && n > 0;
            let mut covered = 0usize;
            let mut pairs = Vec::new();
            for g in &round.groups {
                members.clear();
                members.extend(
                    g.members
                        .iter()
                        .filter_map(|id| index.get(id.as_str()).copied()),
                );
                if members.len() != g.members.len() || g.members.len() != 2 {
                    perfect = false;
                }
                for &m in &members {
                    if seen_in_round[m as usize] == r {
                        perfect = false;
                    } else {
                        seen_in_round[m as usize] = r;
                        covered += 1;
                    }
                    if g.members.len() >= 3 {
                        trio_last[m as usize] = r;
                    }
                }
                if perfect && members.len() == 2 {
                    pairs.push([members[0], members[1]]);
                }
                if g.met {
                    for (i, &a) in members.iter().enumerate() {
                        for &b in &members[i + 1..] {
                            if a != b {
                                met_edges.push((a, b, r));
                                met_edges.push((b, a, r));
                            }
                        }
                    }
                }
            }
            perfect_rounds.push((perfect && covered == n).then_some(pairs));
        }
        let met = Csr::build(n, met_edges);

        let mut excl_edges = Vec::new();
        for (i, &o) in orig.iter().enumerate() {
            for other in &p[o as usize].do_not_pair {
                if let Some(&j) = index.get(other.as_str()) {
                    if j != i as u32 {
                        excl_edges.push((i as u32, j, 0));
                        excl_edges.push((j, i as u32, 0));
                    }
                }
            }
        }
        let excl = Csr::build(n, excl_edges);
        let blocked = if excl.nbr.is_empty() {
            Csr {
                off: met.off.clone(),
                nbr: met.nbr.clone(),
                val: Vec::new(),
            }
        } else {
            let mut e: Vec<(u32, u32, u32)> = Vec::with_capacity(met.nbr.len() + excl.nbr.len());
            for u in 0..n as u32 {
                e.extend(met.row(u).iter().map(|&v| (u, v, 0)));
                e.extend(excl.row(u).iter().map(|&v| (u, v, 0)));
            }
            Csr::build(n, e)
        };

        let reach: Vec<Reach<'a>> = orig
            .iter()
            .map(|&o| Reach {
                ways: p[o as usize].ways,
                site: p[o as usize].site.as_deref(),
            })
            .collect();
        let ways: Vec<u8> = reach.iter().map(|r| r.ways.bits()).collect();
        let mut site_names: FastMap<String, u32> = FastMap::default();
        let site: Vec<u32> = reach
            .iter()
            .map(|r| match r.site.map(str::trim).filter(|s| !s.is_empty()) {
                None => NONE,
                Some(s) => {
                    let k = site_names.len() as u32;
                    *site_names.entry(s.to_ascii_lowercase()).or_insert(k)
                }
            })
            .collect();
        let same_site_only = inst.rules.same_site_only;
        let all_have = |w: Way| {
            let b = Ways::from_list([w]).bits();
            ways.iter().all(|&x| x & b != 0)
        };
        let meet_all = all_have(Way::Video)
            || all_have(Way::Phone)
            || (all_have(Way::InPerson)
                && if same_site_only {
                    site.iter().all(|&s| s != NONE) && site_names.len() <= 1
                } else {
                    site_names.len() <= 1
                });

        Ctx {
            n,
            ids,
            group,
            group_names,
            team,
            met,
            excl,
            blocked,
            rounds,
            trio_last,
            prefer_cross: inst.rules.prefer_cross_group,
            perfect_rounds,
            reach,
            ways,
            site,
            same_site_only,
            meet_all,
        }
    }

    /// Rounds since `u` and `v` last met (1 = the latest round), if they have.
    #[inline]
    pub fn met_age(&self, u: u32, v: u32) -> Option<u32> {
        self.met.find(u, v).map(|k| self.rounds - self.met.val[k])
    }

    /// May `u` and `v` be in the same group at all?
    #[inline]
    pub fn allowed(&self, u: u32, v: u32) -> bool {
        u != v
            && (self.team[u as usize] == NONE || self.team[u as usize] != self.team[v as usize])
            && (self.excl.nbr.is_empty() || self.excl.find(u, v).is_none())
    }

    /// Allowed and never met: an edge of the graph the matching works on.
    #[inline]
    pub fn fresh(&self, u: u32, v: u32) -> bool {
        u != v
            && (self.team[u as usize] == NONE || self.team[u as usize] != self.team[v as usize])
            && self.blocked.find(u, v).is_none()
    }

    /// Can `u` and `v` meet (the rule of [`super::meet::pair_can_meet`], on dense tables)?
    #[inline]
    pub fn can_meet(&self, u: u32, v: u32) -> bool {
        if self.meet_all {
            return true;
        }
        let shared = self.ways[u as usize] & self.ways[v as usize];
        if shared & !1 != 0 {
            return true;
        }
        if shared & 1 == 0 {
            return false;
        }
        let (a, b) = (self.site[u as usize], self.site[v as usize]);
        if self.same_site_only {
            a != NONE && a == b
        } else {
            a == NONE || b == NONE || a == b
        }
    }

    #[inline]
    pub fn cross(&self, u: u32, v: u32) -> bool {
        let (a, b) = (self.group[u as usize], self.group[v as usize]);
        a != NONE && b != NONE && a != b
    }

    /// The quality of putting `u` and `v` in one group, lower is better.
    #[inline]
    pub fn cost(&self, u: u32, v: u32) -> Cost {
        let age = self.met_age(u, v);
        Cost {
            cant: !self.can_meet(u, v) as u32,
            repeats: age.is_some() as u32,
            recency: age.map_or(0.0, |a| 1.0 / f64::from(a.max(1))),
            same: (self.prefer_cross && !self.cross(u, v)) as u32,
            rotation: 0.0,
        }
    }

    /// How recently `u` was in a group of three: 0 if never, up to 1 for the latest round.
    #[inline]
    pub fn trio_penalty(&self, u: u32) -> f64 {
        match self.trio_last[u as usize] {
            NONE => 0.0,
            r => 1.0 / f64::from(self.rounds - r),
        }
    }
}

/// Lexicographic quality of a set of groups: pairs that cannot meet, then
/// repeats, then how recent those repeats are (sum of 1/age), then how recently
/// the group of three's members were last in one (so nobody is in it twice
/// before everyone has been, where the history allows), then same-group pairs.
/// Lower is better.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Cost {
    pub cant: u32,
    pub repeats: u32,
    pub recency: f64,
    pub same: u32,
    pub rotation: f64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            cant: self.cant + o.cant,
            repeats: self.repeats + o.repeats,
            recency: self.recency + o.recency,
            same: self.same + o.same,
            rotation: self.rotation + o.rotation,
        }
    }
}

impl Cost {
    /// Strictly better, treating recency sums within rounding noise as equal.
    pub fn better(&self, o: &Cost) -> bool {
        if self.cant != o.cant {
            return self.cant < o.cant;
        }
        if self.repeats != o.repeats {
            return self.repeats < o.repeats;
        }
        if (self.recency - o.recency).abs() > 1e-9 {
            return self.recency < o.recency;
        }
        if (self.rotation - o.rotation).abs() > 1e-9 {
            return self.rotation < o.rotation;
        }
        self.same < o.same
    }
}
