//! Maximum-weight matching in a general graph (Edmonds' blossom algorithm with
//! dual variables, Galil's O(n³) formulation), after Joris van Rantwijk's
//! well-known reference implementation, which networkx's `max_weight_matching`
//! also follows. Integer weights keep every dual variable and slack an integer.
//!
//! The engine uses it on explicit, fairly sparse graphs (the never-met pairs
//! that can meet), with `max_cardinality` set: among the largest matchings it
//! returns one of maximum weight.

use super::index::NONE;

/// An edge `(u, v, weight)`.
pub(crate) type Edge = (u32, u32, i64);

/// Returns `mate`: `mate[v]` is `v`'s partner or [`NONE`].
pub(crate) fn max_weight_matching(n: usize, edges: &[Edge], max_cardinality: bool) -> Vec<u32> {
    if edges.is_empty() || n == 0 {
        return vec![NONE; n];
    }
    let mut s = State::new(n, edges);
    s.run(max_cardinality);
    (0..n)
        .map(|v| {
            let p = s.mate[v];
            if p < 0 {
                NONE
            } else {
                s.endpoint[p as usize] as u32
            }
        })
        .collect()
}

struct State {
    nv: usize,
    /// Weights doubled, so that every slack between S-vertices is even.
    edges: Vec<(usize, usize, i64)>,
    endpoint: Vec<usize>,
    neighbend: Vec<Vec<usize>>,
    mate: Vec<i64>,
    label: Vec<u8>,
    labelend: Vec<i64>,
    inblossom: Vec<usize>,
    blossomparent: Vec<i64>,
    blossomchilds: Vec<Vec<usize>>,
    blossombase: Vec<i64>,
    blossomendps: Vec<Vec<usize>>,
    bestedge: Vec<i64>,
    blossombestedges: Vec<Option<Vec<usize>>>,
    unusedblossoms: Vec<usize>,
    dualvar: Vec<i64>,
    allowedge: Vec<bool>,
    queue: Vec<usize>,
}

fn wrap(j: i64, len: usize) -> usize {
    j.rem_euclid(len as i64) as usize
}

impl State {
    fn new(n: usize, input: &[Edge]) -> State {
        let edges: Vec<(usize, usize, i64)> = input
            .iter()
            .map(|&(u, v, w)| (u as usize, v as usize, 2 * w))
            .collect();
        let maxweight = edges.iter().map(|e| e.2).max().unwrap_or(0).max(0);
        let mut endpoint = Vec::with_capacity(2 * edges.len());
        let mut neighbend = vec![Vec::new(); n];
        for (k, &(i, j, _)) in edges.iter().enumerate() {
            endpoint.push(i);
            endpoint.push(j);
            neighbend[i].push(2 * k + 1);
            neighbend[j].push(2 * k);
        }
        let mut dualvar = vec![maxweight; n];
        dualvar.extend(std::iter::repeat_n(0, n));
        let mut blossombase: Vec<i64> = (0..n as i64).collect();
        blossombase.extend(std::iter::repeat_n(-1, n));
        State {
            nv: n,
            endpoint,
            neighbend,
            mate: vec![-1; n],
            label: vec![0; 2 * n],
            labelend: vec![-1; 2 * n],
            inblossom: (0..n).collect(),
            blossomparent: vec![-1; 2 * n],
            blossomchilds: vec![Vec::new(); 2 * n],
            blossombase,
            blossomendps: vec![Vec::new(); 2 * n],
            bestedge: vec![-1; 2 * n],
            blossombestedges: vec![None; 2 * n],
            unusedblossoms: (n..2 * n).collect(),
            dualvar,
            allowedge: vec![false; edges.len()],
            queue: Vec::new(),
            edges,
        }
    }

    #[inline]
    fn slack(&self, k: usize) -> i64 {
        let (i, j, w) = self.edges[k];
        self.dualvar[i] + self.dualvar[j] - 2 * w
    }

    fn leaves(&self, b: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![b];
        while let Some(t) = stack.pop() {
            if t < self.nv {
                out.push(t);
            } else {
                stack.extend(self.blossomchilds[t].iter().rev().copied());
            }
        }
        out
    }

    fn assign_label(&mut self, w: usize, t: u8, p: i64) {
        let mut w = w;
        let mut t = t;
        let mut p = p;
        loop {
            let b = self.inblossom[w];
            debug_assert!(self.label[w] == 0 && self.label[b] == 0);
            self.label[w] = t;
            self.label[b] = t;
            self.labelend[w] = p;
            self.labelend[b] = p;
            self.bestedge[w] = -1;
            self.bestedge[b] = -1;
            if t == 1 {
                let l = self.leaves(b);
                self.queue.extend(l);
                return;
            }
            let base = self.blossombase[b] as usize;
            let mb = self.mate[base];
            debug_assert!(mb >= 0);
            w = self.endpoint[mb as usize];
            t = 1;
            p = mb ^ 1;
        }
    }

    fn scan_blossom(&mut self, v: usize, w: usize) -> i64 {
        let mut path = Vec::new();
        let mut base: i64 = -1;
        let (mut v, mut w) = (v as i64, w as i64);
        while v != -1 || w != -1 {
            let mut b = self.inblossom[v as usize];
            if self.label[b] & 4 != 0 {
                base = self.blossombase[b];
                break;
            }
            path.push(b);
            self.label[b] = 5;
            if self.labelend[b] == -1 {
                v = -1;
            } else {
                v = self.endpoint[self.labelend[b] as usize] as i64;
                b = self.inblossom[v as usize];
                v = self.endpoint[self.labelend[b] as usize] as i64;
            }
            if w != -1 {
                std::mem::swap(&mut v, &mut w);
            }
        }
        for b in path {
            self.label[b] = 1;
        }
        base
    }

    fn add_blossom(&mut self, base: usize, k: usize) {
        let (mut v, mut w, _) = self.edges[k];
        let bb = self.inblossom[base];
        let mut bv = self.inblossom[v];
        let mut bw = self.inblossom[w];
        let b = self.unusedblossoms.pop().expect("a free blossom number");
        self.blossombase[b] = base as i64;
        self.blossomparent[b] = -1;
        self.blossomparent[bb] = b as i64;
        let mut path = Vec::new();
        let mut endps = Vec::new();
        while bv != bb {
            self.blossomparent[bv] = b as i64;
            path.push(bv);
            endps.push(self.labelend[bv] as usize);
            v = self.endpoint[self.labelend[bv] as usize];
            bv = self.inblossom[v];
        }
        path.push(bb);
        path.reverse();
        endps.reverse();
        endps.push(2 * k);
        while bw != bb {
            self.blossomparent[bw] = b as i64;
            path.push(bw);
            endps.push((self.labelend[bw] ^ 1) as usize);
            w = self.endpoint[self.labelend[bw] as usize];
            bw = self.inblossom[w];
        }
        self.label[b] = 1;
        self.labelend[b] = self.labelend[bb];
        self.dualvar[b] = 0;
        self.blossomchilds[b] = path.clone();
        self.blossomendps[b] = endps;
        for v in self.leaves(b) {
            if self.label[self.inblossom[v]] == 2 {
                self.queue.push(v);
            }
            self.inblossom[v] = b;
        }
        let mut bestedgeto: Vec<i64> = vec![-1; 2 * self.nv];
        for &bv in &path {
            let nblists: Vec<Vec<usize>> = match self.blossombestedges[bv].take() {
                Some(list) => vec![list],
                None => self
                    .leaves(bv)
                    .into_iter()
                    .map(|v| self.neighbend[v].iter().map(|p| p / 2).collect())
                    .collect(),
            };
            for nblist in nblists {
                for k in nblist {
                    let (mut i, mut j, _) = self.edges[k];
                    if self.inblossom[j] == b {
                        std::mem::swap(&mut i, &mut j);
                    }
                    let _ = i;
                    let bj = self.inblossom[j];
                    if bj != b
                        && self.label[bj] == 1
                        && (bestedgeto[bj] == -1
                            || self.slack(k) < self.slack(bestedgeto[bj] as usize))
                    {
                        bestedgeto[bj] = k as i64;
                    }
                }
            }
            self.bestedge[bv] = -1;
        }
        let list: Vec<usize> = bestedgeto
            .into_iter()
            .filter(|&k| k != -1)
            .map(|k| k as usize)
            .collect();
        let mut best: i64 = -1;
        for &k in &list {
            if best == -1 || self.slack(k) < self.slack(best as usize) {
                best = k as i64;
            }
        }
        self.bestedge[b] = best;
        self.blossombestedges[b] = Some(list);
    }

    fn expand_blossom(&mut self, b: usize, endstage: bool) {
        let childs = self.blossomchilds[b].clone();
        for &s in &childs {
            self.blossomparent[s] = -1;
            if s < self.nv {
                self.inblossom[s] = s;
            } else if endstage && self.dualvar[s] == 0 {
                self.expand_blossom(s, endstage);
            } else {
                for v in self.leaves(s) {
                    self.inblossom[v] = s;
                }
            }
        }
        if !endstage && self.label[b] == 2 {
            let len = childs.len();
            let endps = self.blossomendps[b].clone();
            let entrychild = self.inblossom[self.endpoint[(self.labelend[b] ^ 1) as usize]];
            let mut j = childs
                .iter()
                .position(|&c| c == entrychild)
                .expect("entry child in blossom") as i64;
            let (jstep, endptrick): (i64, usize) = if j & 1 == 1 {
                j -= len as i64;
                (1, 0)
            } else {
                (-1, 1)
            };
            let mut p = self.labelend[b] as usize;
            while j != 0 {
                self.label[self.endpoint[p ^ 1]] = 0;
                let q = endps[wrap(j - endptrick as i64, len)];
                self.label[self.endpoint[q ^ endptrick ^ 1]] = 0;
                self.assign_label(self.endpoint[p ^ 1], 2, p as i64);
                self.allowedge[q / 2] = true;
                j += jstep;
                p = endps[wrap(j - endptrick as i64, len)] ^ endptrick;
                self.allowedge[p / 2] = true;
                j += jstep;
            }
            let bv = childs[wrap(j, len)];
            let e = self.endpoint[p ^ 1];
            self.label[e] = 2;
            self.label[bv] = 2;
            self.labelend[e] = p as i64;
            self.labelend[bv] = p as i64;
            self.bestedge[bv] = -1;
            j += jstep;
            while childs[wrap(j, len)] != entrychild {
                let bv = childs[wrap(j, len)];
                if self.label[bv] == 1 {
                    j += jstep;
                    continue;
                }
                let mut found = None;
                for v in self.leaves(bv) {
                    if self.label[v] != 0 {
                        found = Some(v);
                        break;
                    }
                }
                if let Some(v) = found {
                    self.label[v] = 0;
                    let mb = self.mate[self.blossombase[bv] as usize];
                    self.label[self.endpoint[mb as usize]] = 0;
                    self.assign_label(v, 2, self.labelend[v]);
                }
                j += jstep;
            }
        }
        self.label[b] = u8::MAX;
        self.labelend[b] = -1;
        self.blossomchilds[b] = Vec::new();
        self.blossomendps[b] = Vec::new();
        self.blossombase[b] = -1;
        self.blossombestedges[b] = None;
        self.bestedge[b] = -1;
        self.unusedblossoms.push(b);
    }

    fn augment_blossom(&mut self, b: usize, v: usize) {
        let mut t = v;
        while self.blossomparent[t] != b as i64 {
            t = self.blossomparent[t] as usize;
        }
        if t >= self.nv {
            self.augment_blossom(t, v);
        }
        let len = self.blossomchilds[b].len();
        let i = self.blossomchilds[b]
            .iter()
            .position(|&c| c == t)
            .expect("child in blossom");
        let mut j = i as i64;
        let (jstep, endptrick): (i64, usize) = if i & 1 == 1 {
            j -= len as i64;
            (1, 0)
        } else {
            (-1, 1)
        };
        while j != 0 {
            j += jstep;
            let t = self.blossomchilds[b][wrap(j, len)];
            let p = self.blossomendps[b][wrap(j - endptrick as i64, len)] ^ endptrick;
            if t >= self.nv {
                self.augment_blossom(t, self.endpoint[p]);
            }
            j += jstep;
            let t = self.blossomchilds[b][wrap(j, len)];
            if t >= self.nv {
                self.augment_blossom(t, self.endpoint[p ^ 1]);
            }
            self.mate[self.endpoint[p]] = (p ^ 1) as i64;
            self.mate[self.endpoint[p ^ 1]] = p as i64;
        }
        self.blossomchilds[b].rotate_left(i);
        self.blossomendps[b].rotate_left(i);
        self.blossombase[b] = self.blossombase[self.blossomchilds[b][0]];
        debug_assert_eq!(self.blossombase[b], v as i64);
    }

    fn augment_matching(&mut self, k: usize) {
        let (v, w, _) = self.edges[k];
        for (s0, p0) in [(v, 2 * k + 1), (w, 2 * k)] {
            let (mut s, mut p) = (s0, p0);
            loop {
                let bs = self.inblossom[s];
                if bs >= self.nv {
                    self.augment_blossom(bs, s);
                }
                self.mate[s] = p as i64;
                if self.labelend[bs] == -1 {
                    break;
                }
                let t = self.endpoint[self.labelend[bs] as usize];
                let bt = self.inblossom[t];
                s = self.endpoint[self.labelend[bt] as usize];
                let j = self.endpoint[(self.labelend[bt] ^ 1) as usize];
                if bt >= self.nv {
                    self.augment_blossom(bt, j);
                }
                self.mate[j] = self.labelend[bt];
                p = (self.labelend[bt] ^ 1) as usize;
            }
        }
    }

    fn run(&mut self, max_cardinality: bool) {
        let n = self.nv;
        for _stage in 0..n {
            self.label.fill(0);
            self.bestedge.fill(-1);
            for b in n..2 * n {
                self.blossombestedges[b] = None;
            }
            self.allowedge.fill(false);
            self.queue.clear();
            for v in 0..n {
                if self.mate[v] == -1 && self.label[self.inblossom[v]] == 0 {
                    self.assign_label(v, 1, -1);
                }
            }
            let mut augmented = false;
            loop {
                while !augmented {
                    let Some(v) = self.queue.pop() else { break };
                    for idx in 0..self.neighbend[v].len() {
                        let p = self.neighbend[v][idx];
                        let k = p / 2;
                        let w = self.endpoint[p];
                        if self.inblossom[v] == self.inblossom[w] {
                            continue;
                        }
                        let mut kslack = 0;
                        if !self.allowedge[k] {
                            kslack = self.slack(k);
                            if kslack <= 0 {
                                self.allowedge[k] = true;
                            }
                        }
                        if self.allowedge[k] {
                            if self.label[self.inblossom[w]] == 0 {
                                self.assign_label(w, 2, (p ^ 1) as i64);
                            } else if self.label[self.inblossom[w]] == 1 {
                                let base = self.scan_blossom(v, w);
                                if base >= 0 {
                                    self.add_blossom(base as usize, k);
                                } else {
                                    self.augment_matching(k);
                                    augmented = true;
                                    break;
                                }
                            } else if self.label[w] == 0 {
                                self.label[w] = 2;
                                self.labelend[w] = (p ^ 1) as i64;
                            }
                        } else if self.label[self.inblossom[w]] == 1 {
                            let b = self.inblossom[v];
                            if self.bestedge[b] == -1
                                || kslack < self.slack(self.bestedge[b] as usize)
                            {
                                self.bestedge[b] = k as i64;
                            }
                        } else if self.label[w] == 0
                            && (self.bestedge[w] == -1
                                || kslack < self.slack(self.bestedge[w] as usize))
                        {
                            self.bestedge[w] = k as i64;
                        }
                    }
                }
                if augmented {
                    break;
                }
                // No augmenting path with the current duals: adjust them.
                let mut deltatype = -1;
                let mut delta: i64 = 0;
                let mut deltaedge: usize = 0;
                let mut deltablossom: usize = 0;
                if !max_cardinality {
                    deltatype = 1;
                    delta = *self.dualvar[..n].iter().min().expect("n > 0");
                }
                for v in 0..n {
                    if self.label[self.inblossom[v]] == 0 && self.bestedge[v] != -1 {
                        let d = self.slack(self.bestedge[v] as usize);
                        if deltatype == -1 || d < delta {
                            delta = d;
                            deltatype = 2;
                            deltaedge = self.bestedge[v] as usize;
                        }
                    }
                }
                for b in 0..2 * n {
                    if self.blossomparent[b] == -1 && self.label[b] == 1 && self.bestedge[b] != -1 {
                        let d = self.slack(self.bestedge[b] as usize) / 2;
                        if deltatype == -1 || d < delta {
                            delta = d;
                            deltatype = 3;
                            deltaedge = self.bestedge[b] as usize;
                        }
                    }
                }
                for b in n..2 * n {
                    if self.blossombase[b] >= 0
                        && self.blossomparent[b] == -1
                        && self.label[b] == 2
                        && (deltatype == -1 || self.dualvar[b] < delta)
                    {
                        delta = self.dualvar[b];
                        deltatype = 4;
                        deltablossom = b;
                    }
                }
                if deltatype == -1 {
                    deltatype = 1;
                    delta = (*self.dualvar[..n].iter().min().expect("n > 0")).max(0);
                }
                for v in 0..n {
                    match self.label[self.inblossom[v]] {
                        1 => self.dualvar[v] -= delta,
                        2 => self.dualvar[v] += delta,
                        _ => {}
                    }
                }
                for b in n..2 * n {
                    if self.blossombase[b] >= 0 && self.blossomparent[b] == -1 {
                        match self.label[b] {
                            1 => self.dualvar[b] += delta,
                            2 => self.dualvar[b] -= delta,
                            _ => {}
                        }
                    }
                }
                match deltatype {
                    1 => break,
                    2 => {
                        self.allowedge[deltaedge] = true;
                        let (mut i, j, _) = self.edges[deltaedge];
                        if self.label[self.inblossom[i]] == 0 {
                            i = j;
                        }
                        self.queue.push(i);
                    }
                    3 => {
                        self.allowedge[deltaedge] = true;
                        let (i, _, _) = self.edges[deltaedge];
                        self.queue.push(i);
                    }
                    _ => self.expand_blossom(deltablossom, false),
                }
            }
            if !augmented {
                break;
            }
            for b in n..2 * n {
                if self.blossomparent[b] == -1
                    && self.blossombase[b] >= 0
                    && self.label[b] == 1
                    && self.dualvar[b] == 0
                {
                    self.expand_blossom(b, true);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Best (cardinality if asked, then weight) over all matchings, by brute force.
    fn brute(n: usize, edges: &[Edge], max_card: bool) -> (usize, i64) {
        fn go(
            v: usize,
            used: &mut Vec<bool>,
            n: usize,
            w: &[Vec<Option<i64>>],
            max_card: bool,
        ) -> (usize, i64) {
            if v == n {
                return (0, 0);
            }
            if used[v] {
                return go(v + 1, used, n, w, max_card);
            }
            let better = |a: (usize, i64), b: (usize, i64)| {
                if max_card {
                    a > b
                } else {
                    a.1 > b.1
                }
            };
            used[v] = true;
            let mut best = go(v + 1, used, n, w, max_card);
            for u in v + 1..n {
                if let (false, Some(x)) = (used[u], w[v][u]) {
                    used[u] = true;
                    let r = go(v + 1, used, n, w, max_card);
                    let cand = (r.0 + 1, r.1 + x);
                    if better(cand, best) {
                        best = cand;
                    }
                    used[u] = false;
                }
            }
            used[v] = false;
            best
        }
        let mut w = vec![vec![None; n]; n];
        for &(a, b, x) in edges {
            let (a, b) = (a as usize, b as usize);
            let best = w[a][b].map_or(x, |y: i64| y.max(x));
            w[a][b] = Some(best);
            w[b][a] = Some(best);
        }
        go(0, &mut vec![false; n], n, &w, max_card)
    }

    fn value(edges: &[Edge], mate: &[u32]) -> (usize, i64) {
        let mut card = 0;
        let mut weight = 0;
        for (v, &m) in mate.iter().enumerate() {
            if m != NONE && (v as u32) < m {
                assert_eq!(mate[m as usize], v as u32, "mate is symmetric");
                card += 1;
                weight += edges
                    .iter()
                    .filter(|e| (e.0 == v as u32 && e.1 == m) || (e.1 == v as u32 && e.0 == m))
                    .map(|e| e.2)
                    .max()
                    .expect("matched along an edge");
            }
        }
        (card, weight)
    }

    #[test]
    fn matches_brute_force_on_random_graphs() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for case in 0..1500 {
            let n = rng.random_range(1..=11);
            let density = rng.random_range(0.1..0.9);
            let maxw = [1, 2, 3, 10, 100][case % 5];
            let mut edges = Vec::new();
            for a in 0..n as u32 {
                for b in a + 1..n as u32 {
                    if rng.random_bool(density) {
                        edges.push((a, b, rng.random_range(1..=maxw)));
                    }
                }
            }
            for max_card in [false, true] {
                let mate = max_weight_matching(n, &edges, max_card);
                let got = value(&edges, &mate);
                let want = brute(n, &edges, max_card);
                if max_card {
                    assert_eq!(got, want, "case {case}: n={n} edges={edges:?}");
                } else {
                    assert_eq!(got.1, want.1, "case {case}: n={n} edges={edges:?}");
                }
            }
        }
    }
}
