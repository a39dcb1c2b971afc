//! Edmonds' blossom algorithm, one augmenting-path search at a time, over a
//! graph that is either an explicit adjacency list or the complement of the
//! sparse "blocked" lists (so a 50,000-person round never materialises its
//! ~10^9 never-met pairs).

use std::collections::VecDeque;

use super::index::{Csr, Ctx, NONE};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Allowed, never met, and the two can meet.
    Fresh,
    /// Allowed (repeats and pairs that cannot meet permitted).
    Allowed,
    /// Allowed and the two can meet (repeats permitted).
    Meet,
    /// Allowed, never met, can meet and from different groups; explicit lists only.
    FreshCross,
}

pub(crate) struct Graph<'g, 'a> {
    pub ctx: &'g Ctx<'a>,
    pub mode: Mode,
    /// Explicit neighbour lists for `Mode::Fresh` when they are affordable.
    pub explicit: Option<&'g Csr>,
}

impl Graph<'_, '_> {
    #[inline]
    pub fn adjacent(&self, u: u32, v: u32) -> bool {
        match self.mode {
            Mode::Fresh => self.ctx.fresh(u, v) && self.ctx.can_meet(u, v),
            Mode::Allowed => self.ctx.allowed(u, v),
            Mode::Meet => self.ctx.allowed(u, v) && self.ctx.can_meet(u, v),
            Mode::FreshCross => {
                self.ctx.fresh(u, v) && self.ctx.can_meet(u, v) && self.ctx.cross(u, v)
            }
        }
    }

    fn neighbors(&self, u: u32) -> Nbrs<'_> {
        if let Some(adj) = self.explicit {
            return Nbrs::List(adj.row(u).iter());
        }
        let blocked = match self.mode {
            Mode::Fresh | Mode::FreshCross => self.ctx.blocked.row(u),
            Mode::Allowed | Mode::Meet => self.ctx.excl.row(u),
        };
        let meet = (self.mode != Mode::Allowed && !self.ctx.meet_all).then_some(self.ctx);
        Nbrs::Complement {
            next: 0,
            n: self.ctx.n as u32,
            u,
            team: self.ctx.team[u as usize],
            teams: &self.ctx.team,
            blocked,
            meet,
        }
    }
}

enum Nbrs<'g> {
    List(std::slice::Iter<'g, u32>),
    /// Every vertex except `u`, its team-mates and the sorted `blocked` list
    /// (and, with `meet`, those `u` cannot meet).
    Complement {
        next: u32,
        n: u32,
        u: u32,
        team: u32,
        teams: &'g [u32],
        blocked: &'g [u32],
        meet: Option<&'g Ctx<'g>>,
    },
}

impl Iterator for Nbrs<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        match self {
            Nbrs::List(it) => it.next().copied(),
            Nbrs::Complement {
                next,
                n,
                u,
                team,
                teams,
                blocked,
                meet,
            } => loop {
                if *next >= *n {
                    return None;
                }
                let v = *next;
                *next += 1;
                while let Some((&b, rest)) = blocked.split_first() {
                    if b < v {
                        *blocked = rest;
                    } else {
                        break;
                    }
                }
                if v == *u || blocked.first() == Some(&v) {
                    continue;
                }
                if *team != NONE && teams[v as usize] == *team {
                    continue;
                }
                if meet.is_some_and(|c| !c.can_meet(*u, v)) {
                    continue;
                }
                return Some(v);
            },
        }
    }
}

/// A matching plus the scratch state of the augmenting-path search. Scratch
/// arrays are versioned by `stamp` so a search costs what it visits, not O(N).
pub(crate) struct Matcher {
    pub mate: Vec<u32>,
    /// Vertices proven unable to lie on any augmenting path (Edmonds' Hungarian
    /// trees): future searches skip them.
    pub dead: Vec<bool>,
    parent: Vec<u32>,
    parent_st: Vec<u32>,
    base: Vec<u32>,
    base_st: Vec<u32>,
    outer_st: Vec<u32>,
    lca_st: Vec<u32>,
    bloss_st: Vec<u32>,
    stamp: u32,
    sub: u32,
    touched: Vec<u32>,
    queue: VecDeque<u32>,
    /// Neighbours examined so far, for work budgets.
    pub work: u64,
}

impl Matcher {
    pub fn new(n: usize) -> Matcher {
        Matcher {
            mate: vec![NONE; n],
            dead: vec![false; n],
            parent: vec![NONE; n],
            parent_st: vec![0; n],
            base: vec![0; n],
            base_st: vec![0; n],
            outer_st: vec![0; n],
            lca_st: vec![0; n],
            bloss_st: vec![0; n],
            stamp: 0,
            sub: 0,
            touched: Vec::new(),
            queue: VecDeque::new(),
            work: 0,
        }
    }

    pub fn set_pair(&mut self, a: u32, b: u32) {
        self.mate[a as usize] = b;
        self.mate[b as usize] = a;
    }

    #[inline]
    fn par(&self, v: u32) -> u32 {
        if self.parent_st[v as usize] == self.stamp {
            self.parent[v as usize]
        } else {
            NONE
        }
    }

    #[inline]
    fn set_par(&mut self, v: u32, p: u32) {
        self.touch(v);
        self.parent[v as usize] = p;
        self.parent_st[v as usize] = self.stamp;
    }

    #[inline]
    fn bas(&self, v: u32) -> u32 {
        if self.base_st[v as usize] == self.stamp {
            self.base[v as usize]
        } else {
            v
        }
    }

    #[inline]
    fn outer(&self, v: u32) -> bool {
        self.outer_st[v as usize] == self.stamp
    }

    #[inline]
    fn touch(&mut self, v: u32) {
        if self.base_st[v as usize] != self.stamp {
            self.base_st[v as usize] = self.stamp;
            self.base[v as usize] = v;
            self.touched.push(v);
        }
    }

    fn make_outer(&mut self, v: u32) {
        self.touch(v);
        self.outer_st[v as usize] = self.stamp;
        self.queue.push_back(v);
    }

    fn next_sub(&mut self) -> u32 {
        self.sub = self.sub.wrapping_add(1);
        if self.sub == 0 {
            self.lca_st.fill(0);
            self.bloss_st.fill(0);
            self.sub = 1;
        }
        self.sub
    }

    fn lca(&mut self, mut a: u32, mut b: u32) -> u32 {
        let mark = self.next_sub();
        loop {
            a = self.bas(a);
            self.lca_st[a as usize] = mark;
            let m = self.mate[a as usize];
            if m == NONE {
                break;
            }
            a = self.par(m);
        }
        loop {
            b = self.bas(b);
            if self.lca_st[b as usize] == mark {
                return b;
            }
            b = self.par(self.mate[b as usize]);
        }
    }

    fn mark_path(&mut self, mut v: u32, b: u32, mut child: u32, mark: u32) {
        while self.bas(v) != b {
            let m = self.mate[v as usize];
            let bv = self.bas(v);
            let bm = self.bas(m);
            self.bloss_st[bv as usize] = mark;
            self.bloss_st[bm as usize] = mark;
            self.set_par(v, child);
            child = m;
            v = self.par(m);
        }
    }

    /// Searches for an augmenting path from the free vertex `root` and applies
    /// it. `lookahead` lists other free vertices, checked against every new
    /// outer vertex so that in dense graphs the search ends within a few steps.
    /// On failure the search tree is marked dead and `false` is returned.
    pub fn augment(&mut self, g: &Graph, root: u32, lookahead: &[u32]) -> bool {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.parent_st.fill(0);
            self.base_st.fill(0);
            self.outer_st.fill(0);
            self.stamp = 1;
        }
        self.touched.clear();
        self.queue.clear();
        self.make_outer(root);
        let end = self.search(g, root, lookahead);
        match end {
            Some(mut v) => {
                while v != NONE {
                    let pv = self.par(v);
                    let ppv = self.mate[pv as usize];
                    self.mate[v as usize] = pv;
                    self.mate[pv as usize] = v;
                    v = ppv;
                }
                true
            }
            None => {
                for i in 0..self.touched.len() {
                    let v = self.touched[i];
                    self.dead[v as usize] = true;
                }
                false
            }
        }
    }

    fn search(&mut self, g: &Graph, root: u32, lookahead: &[u32]) -> Option<u32> {
        while let Some(v) = self.queue.pop_front() {
            for to in g.neighbors(v) {
                self.work += 1;
                if self.dead[to as usize]
                    || self.bas(v) == self.bas(to)
                    || self.mate[v as usize] == to
                {
                    continue;
                }
                let tm = self.mate[to as usize];
                if to == root || (tm != NONE && self.par(tm) != NONE) {
                    let cur = self.lca(v, to);
                    let mark = self.next_sub();
                    self.mark_path(v, cur, to, mark);
                    self.mark_path(to, cur, v, mark);
                    for i in 0..self.touched.len() {
                        let x = self.touched[i];
                        if self.bloss_st[self.bas(x) as usize] == mark {
                            self.base[x as usize] = cur;
                            if !self.outer(x) {
                                self.make_outer(x);
                            }
                        }
                    }
                } else if self.par(to) == NONE {
                    self.set_par(to, v);
                    if tm == NONE {
                        return Some(to);
                    }
                    self.make_outer(tm);
                    for &f in lookahead {
                        if f != root
                            && self.mate[f as usize] == NONE
                            && !self.dead[f as usize]
                            && g.adjacent(tm, f)
                        {
                            self.set_par(f, tm);
                            return Some(f);
                        }
                    }
                }
            }
        }
        None
    }
}
