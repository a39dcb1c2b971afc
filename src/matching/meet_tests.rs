//! Ways and places to meet in the engine, against brute force on small rounds:
//! the number of pairs that cannot meet is the minimum possible, repeats come
//! next, and among repeat-free groupings where everyone can meet the
//! cross-department count is the best possible.

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::meet::{pair_can_meet, Reach, Way, Ways};
use super::*;

const SITES: [&str; 3] = ["Royal Infirmary", "General", "Western"];

/// People with a trust's mix: some in person only (on a site), some video only,
/// some phone, some who did not say; random departments, history and exclusions.
fn instance(rng: &mut ChaCha8Rng, n: usize, rounds: usize, exclusions: usize) -> Instance {
    let groups = rng.random_range(1..=4);
    let participants: Vec<Person> = (0..n)
        .map(|i| {
            let ways = match rng.random_range(0..6) {
                0 | 1 => Ways::from_list([Way::InPerson]),
                2 => Ways::from_list([Way::Video]),
                3 => Ways::from_list([Way::Phone, Way::InPerson]),
                4 => Ways::from_list([Way::Video, Way::InPerson]),
                _ => Ways::ANY,
            };
            let site =
                (rng.random_range(0..4) > 0).then(|| SITES[rng.random_range(0..3)].to_string());
            Person {
                id: format!("p{i}"),
                group: Some(format!("g{}", rng.random_range(0..groups))),
                ways,
                site,
                ..Person::default()
            }
        })
        .collect();
    let mut inst = Instance {
        participants,
        history: Vec::new(),
        rules: Rules::default(),
    };
    let ids: Vec<String> = inst.participants.iter().map(|p| p.id.clone()).collect();
    for _ in 0..rounds {
        let mut order = ids.clone();
        order.push("ghost".into());
        order.shuffle(rng);
        let groups = order
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| PastGroup {
                members: c.to_vec(),
                met: true,
            })
            .collect();
        inst.history.push(PastRound { groups });
    }
    for _ in 0..exclusions {
        if n >= 2 {
            let a = rng.random_range(0..n);
            let b = rng.random_range(0..n);
            if a != b {
                let other = ids[b].clone();
                inst.participants[a].do_not_pair.push(other);
            }
        }
    }
    inst
}

/// (pairs that cannot meet, repeats, same-department pairs)
type Score3 = (u32, u32, u32);
type Memo3 = Vec<Option<Option<Score3>>>;

struct Tables {
    allowed: Vec<Vec<bool>>,
    cant: Vec<Vec<bool>>,
    met: Vec<Vec<bool>>,
    same: Vec<Vec<bool>>,
}

fn tables(inst: &Instance) -> Tables {
    let p = &inst.participants;
    let n = p.len();
    let reach = |i: usize| Reach {
        ways: p[i].ways,
        site: p[i].site.as_deref(),
    };
    let mut t = Tables {
        allowed: vec![vec![false; n]; n],
        cant: vec![vec![false; n]; n],
        met: vec![vec![false; n]; n],
        same: vec![vec![false; n]; n],
    };
    let index = |id: &str| p.iter().position(|x| x.id == id);
    for i in 0..n {
        for j in 0..n {
            let excluded = p[i].do_not_pair.contains(&p[j].id)
                || p[j].do_not_pair.contains(&p[i].id)
                || (p[i].never_together.is_some() && p[i].never_together == p[j].never_together);
            t.allowed[i][j] = i != j && !excluded;
            t.cant[i][j] = !pair_can_meet(&reach(i), &reach(j), inst.rules.same_site_only);
            t.same[i][j] = p[i].group == p[j].group;
        }
    }
    for r in &inst.history {
        for g in r.groups.iter().filter(|g| g.met) {
            for a in &g.members {
                for b in &g.members {
                    if let (Some(i), Some(j)) = (index(a), index(b)) {
                        t.met[i][j] = i != j;
                    }
                }
            }
        }
    }
    t
}

/// The lexicographic minimum of (pairs that cannot meet, repeats, same-group
/// pairs) over every grouping of everyone (pairs, one group of three when odd),
/// or `None` when exclusions leave none.
fn brute(inst: &Instance) -> Option<(u32, u32, u32)> {
    let t = tables(inst);
    let n = inst.participants.len();
    let cost = |i: usize, j: usize| -> (u32, u32, u32) {
        (t.cant[i][j] as u32, t.met[i][j] as u32, t.same[i][j] as u32)
    };
    let add = |a: (u32, u32, u32), b: (u32, u32, u32)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
    let full = (1usize << n) - 1;
    let mut memo: Memo3 = vec![None; (full + 1) * 2];
    fn go(
        rem: usize,
        trio: bool,
        n: usize,
        t: &Tables,
        cost: &dyn Fn(usize, usize) -> (u32, u32, u32),
        add: &dyn Fn(Score3, Score3) -> Score3,
        memo: &mut Memo3,
    ) -> Option<(u32, u32, u32)> {
        if rem == 0 {
            return (!trio).then_some((0, 0, 0));
        }
        let key = rem * 2 + trio as usize;
        if let Some(r) = memo[key] {
            return r;
        }
        let i = rem.trailing_zeros() as usize;
        let mut best: Option<(u32, u32, u32)> = None;
        for j in i + 1..n {
            if rem & (1 << j) == 0 || !t.allowed[i][j] {
                continue;
            }
            let rest = rem & !(1 << i) & !(1 << j);
            if let Some(r) = go(rest, trio, n, t, cost, add, memo) {
                let c = add(cost(i, j), r);
                best = Some(best.map_or(c, |b| b.min(c)));
            }
            if trio {
                for k in j + 1..n {
                    if rem & (1 << k) == 0 || !t.allowed[i][k] || !t.allowed[j][k] {
                        continue;
                    }
                    if let Some(r) = go(rest & !(1 << k), false, n, t, cost, add, memo) {
                        let c = add(add(add(cost(i, j), cost(i, k)), cost(j, k)), r);
                        best = Some(best.map_or(c, |b| b.min(c)));
                    }
                }
            }
        }
        memo[key] = Some(best);
        best
    }
    if n < 2 {
        return None;
    }
    go(full, n % 2 == 1, n, &t, &cost, &add, &mut memo)
}

/// The engine's own figures, checked against the groups it returned.
fn figures(inst: &Instance, out: &Outcome) -> (u32, u32, u32) {
    let t = tables(inst);
    let index = |id: &str| inst.participants.iter().position(|p| p.id == id).unwrap();
    let (mut cant, mut met, mut same) = (0, 0, 0);
    for g in &out.groups {
        let m: Vec<usize> = g.members.iter().map(|id| index(id)).collect();
        let mut group_cant = false;
        for a in 0..m.len() {
            for b in a + 1..m.len() {
                assert!(t.allowed[m[a]][m[b]], "exclusion broken in {:?}", g.members);
                cant += t.cant[m[a]][m[b]] as u32;
                group_cant |= t.cant[m[a]][m[b]];
                met += t.met[m[a]][m[b]] as u32;
                same += t.same[m[a]][m[b]] as u32;
            }
        }
        if m.len() == 2 {
            assert_eq!(
                g.how.can_meet(),
                !group_cant,
                "{:?}: {:?}",
                g.members,
                g.how
            );
        }
        if !g.how.can_meet() {
            assert!(g.reason.starts_with("cannot meet: "), "{}", g.reason);
        }
    }
    assert_eq!(cant, out.stats.cant_meet_pairs);
    assert_eq!(met, out.stats.repeats);
    (cant, met, same)
}

#[test]
fn fewest_pairs_that_cannot_meet_then_fewest_repeats_on_small_rounds() {
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let mut cases_with_cant = 0;
    for case in 0..160 {
        let n = rng.random_range(2..=16);
        let rounds = rng.random_range(0..8);
        let inst = instance(&mut rng, n, rounds, 0);
        let Some(best) = brute(&inst) else { continue };
        let out = pair(&inst, case);
        assert!(out.unplaced.is_empty());
        let got = figures(&inst, &out);
        assert_eq!(got.0, best.0, "case {case}: pairs that cannot meet");
        assert_eq!(got.1, best.1, "case {case}: repeats among those");
        if n % 2 == 0 && best.0 == 0 && best.1 == 0 {
            assert_eq!(got.2, best.2, "case {case}: same-department pairs");
        }
        cases_with_cant += (best.0 > 0) as u32;
    }
    assert!(
        cases_with_cant > 5,
        "the generator also makes rounds where someone cannot meet"
    );
}

#[test]
fn the_matching_path_reaches_the_minimum_and_the_best_mix() {
    // 17 and 18 people: beyond the exhaustive search, so the blossom and the
    // weighted matching have to get there themselves.
    let mut rng = ChaCha8Rng::seed_from_u64(1515);
    for case in 0..24 {
        let n = 17 + (case % 2) as usize;
        let rounds = rng.random_range(3..12);
        let inst = instance(&mut rng, n, rounds, 0);
        let best = brute(&inst).expect("no exclusions");
        let out = pair(&inst, case);
        let got = figures(&inst, &out);
        assert_eq!(got.0, best.0, "case {case}: pairs that cannot meet");
        if n % 2 == 0 && best.0 == 0 && best.1 == 0 {
            assert_eq!(got.1, 0, "case {case}: repeats");
            assert_eq!(got.2, best.2, "case {case}: same-department pairs");
        }
    }
}

#[test]
fn tight_history_gets_the_best_cross_department_share() {
    // A cohort that has met most of itself: few repeat-free pairings are left,
    // and the best of them for mixing departments must be found.
    let mut rng = ChaCha8Rng::seed_from_u64(64);
    for case in 0..12 {
        let n = 16;
        let mut inst = instance(&mut rng, n, 11, 0);
        for p in &mut inst.participants {
            p.ways = Ways::ANY;
            p.site = None;
        }
        let Some(best) = brute(&inst) else { continue };
        let out = pair(&inst, case);
        let got = figures(&inst, &out);
        assert_eq!((got.0, got.1, got.2), best, "case {case}");
    }
}

#[test]
fn everyone_placed_with_someone_they_can_meet_when_possible() {
    // Two sites, in person only, plus video-only people: each site has an even
    // count, so everyone can meet.
    let mk = |id: &str, site: Option<&str>, ways: &[Way]| Person {
        id: id.into(),
        group: Some("x".into()),
        ways: Ways::from_list(ways.iter().copied()),
        site: site.map(str::to_string),
        ..Person::default()
    };
    let inst = Instance {
        participants: vec![
            mk("a", Some("North"), &[Way::InPerson]),
            mk("b", Some("South"), &[Way::InPerson]),
            mk("c", Some("North"), &[Way::InPerson]),
            mk("d", Some("South"), &[Way::InPerson]),
            mk("e", None, &[Way::Video]),
            mk("f", Some("South"), &[Way::Video]),
        ],
        ..Instance::default()
    };
    for seed in 0..20 {
        let out = pair(&inst, seed);
        assert_eq!(out.stats.cant_meet_pairs, 0);
        for g in &out.groups {
            assert!(g.how.can_meet(), "{:?}", g);
        }
    }
}

#[test]
fn a_pair_that_cannot_meet_says_why() {
    let inst = Instance {
        participants: vec![
            Person {
                id: "a".into(),
                ways: Ways::from_list([Way::InPerson]),
                site: Some("Royal Infirmary".into()),
                ..Person::default()
            },
            Person {
                id: "b".into(),
                ways: Ways::from_list([Way::Video]),
                ..Person::default()
            },
        ],
        ..Instance::default()
    };
    let out = pair(&inst, 1);
    assert_eq!(out.stats.cant_meet_pairs, 1);
    let g = &out.groups[0];
    assert!(!g.how.can_meet());
    assert!(
        g.reason.contains("in person only at Royal Infirmary") && g.reason.contains("video only"),
        "{}",
        g.reason
    );
}

#[test]
fn same_site_only_is_honoured() {
    let mk = |id: &str, site: Option<&str>| Person {
        id: id.into(),
        ways: Ways::from_list([Way::InPerson]),
        site: site.map(str::to_string),
        ..Person::default()
    };
    // With the option, the two without a site cannot meet anyone in person.
    let mut inst = Instance {
        participants: vec![
            mk("a", Some("N")),
            mk("b", None),
            mk("c", Some("N")),
            mk("d", None),
        ],
        ..Instance::default()
    };
    inst.rules.same_site_only = true;
    let out = pair(&inst, 3);
    assert_eq!(out.stats.cant_meet_pairs, 1);
    inst.rules.same_site_only = false;
    let out = pair(&inst, 3);
    assert_eq!(out.stats.cant_meet_pairs, 0);
}

#[test]
fn large_rounds_with_ways_to_meet_leave_nobody_stranded() {
    // The implicit-graph path (more than 2,048 people) filters by can-meet too.
    let mut rng = ChaCha8Rng::seed_from_u64(3000);
    let inst = instance(&mut rng, 3000, 3, 0);
    let out = pair(&inst, 9);
    assert_eq!(
        out.groups.iter().map(|g| g.members.len()).sum::<usize>(),
        3000
    );
    // Everyone shares a way with a large share of the others, so all can meet.
    assert_eq!(out.stats.cant_meet_pairs, 0);
    assert_eq!(out.stats.repeats, 0);
}

fn arb() -> impl Strategy<Value = (Instance, u64)> {
    (2usize..13, 0usize..6, 0usize..5, any::<u64>()).prop_map(|(n, rounds, excl, seed)| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (instance(&mut rng, n, rounds, excl), seed)
    })
}

proptest! {
    // Failing cases are kept under tests/ (the top level of the repository stays as it is).
    #![proptest_config(ProptestConfig {
        cases: 120,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            "tests/proptest-regressions/matching/meet_tests.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn never_a_cannot_meet_pair_when_a_grouping_without_one_exists((inst, seed) in arb()) {
        let out = pair(&inst, seed);
        // `figures` also fails on any do-not-pair pair.
        let got = figures(&inst, &out);
        if let (Some(best), true) = (brute(&inst), out.unplaced.is_empty()) {
            prop_assert_eq!(got.0, best.0);
            if best.0 == 0 {
                // Pairs: "can meet" is the pair rule. (A group of three is counted
                // by its pairs, so three who pairwise can meet may share no one way.)
                prop_assert!(out
                    .groups
                    .iter()
                    .filter(|g| g.members.len() == 2)
                    .all(|g| g.how.can_meet()));
            }
        }
    }

    #[test]
    fn threes_never_break_exclusions_and_minimise_cannot_meet((inst, seed) in arb()) {
        let mut inst = inst;
        inst.rules.group_size = 3;
        let out = pair(&inst, seed);
        figures(&inst, &out);
        prop_assert!(out.stats.lower_bound <= out.stats.repeats);
    }
}

#[test]
fn instance_files_carry_modes_and_site() {
    use super::format::{parse_instance, write_outcome};
    let doc = r#"{"participants": [
        {"id": "a", "group": "IT", "site": "Royal Infirmary", "modes": ["in_person"]},
        {"id": "b", "group": "HR", "modes": ["video", "phone"]},
        {"id": "c", "group": "HR", "site": "Royal Infirmary"},
        {"id": "d", "group": "IT", "modes": []}
    ], "rules": {"same_site_only": false}}"#;
    let inst = parse_instance(doc).unwrap();
    assert_eq!(inst.participants[0].ways, Ways::from_list([Way::InPerson]));
    assert_eq!(
        inst.participants[0].site.as_deref(),
        Some("Royal Infirmary")
    );
    assert_eq!(
        inst.participants[1].ways,
        Ways::from_list([Way::Video, Way::Phone])
    );
    assert_eq!(inst.participants[2].ways, Ways::ANY);
    assert_eq!(inst.participants[3].ways, Ways::ANY);
    let out = pair(&inst, 5);
    assert_eq!(out.stats.cant_meet_pairs, 0);
    let json: serde_json::Value = serde_json::from_str(&write_outcome(&out)).unwrap();
    assert_eq!(json["stats"]["cant_meet_pairs"], 0);
    assert_eq!(json["how"].as_array().unwrap().len(), 2);
    assert_eq!(json["how"][0]["can_meet"], "yes");

    let err = parse_instance(r#"{"participants": [{"id": "a", "modes": ["carrier pigeon"]}]}"#)
        .unwrap_err();
    assert_eq!(err.location, "participants[0].modes[0]");
    let err = parse_instance(r#"{"participants": [{"id": "a", "modes": "video"}]}"#).unwrap_err();
    assert_eq!(err.location, "participants[0].modes");
    let err =
        parse_instance(r#"{"participants": [], "rules": {"same_site_only": 1}}"#).unwrap_err();
    assert_eq!(err.location, "rules.same_site_only");
}
