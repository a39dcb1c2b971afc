//! The shared participant store functions, on both backends.
use chrono::Utc;
use coffee_trials::domain::MembershipState;
use coffee_trials::store::participants::{AddOutcome, MemberQuery};
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;

use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::TestStore;

async fn trial(store: &Store, slug: &str) -> Trial {
    TrialBuilder::new(slug)
        .attribute_values("Nursing\nEstates")
        .create(store)
        .await
}

#[tokio::test]
async fn one_person_joins_several_trials_once_each() {
    let store = TestStore::new().await;
    let (a, b) = (trial(&store, "a").await, trial(&store, "b").await);
    let grace = PersonBuilder::new("Grace", "grace@example.org").attribute("Nursing");
    let first = grace
        .clone()
        .state(MembershipState::Pending)
        .try_add_to(&store, &a)
        .await;
    let again = grace.try_add_to(&store, &a).await;
    let other = grace.try_add_to(&store, &b).await;
    let AddOutcome::Added {
        membership_id,
        public_id,
        ..
    } = first
    else {
        panic!("first add: {first:?}")
    };
    assert_eq!(
        again,
        AddOutcome::AlreadyMember {
            membership_id,
            state: MembershipState::Pending
        }
    );
    assert!(matches!(other, AddOutcome::Added { .. }));
    assert_eq!(public_id.len(), 32);
    let (people,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM participants")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(people, 1);
    let member = store.find_member(a.id, &public_id).await.unwrap().unwrap();
    assert_eq!(member.email.as_deref(), Some("grace@example.org"));
    assert!(member.confirmed_at.is_none());
}

#[tokio::test]
async fn members_are_searched_filtered_and_paused() {
    let store = TestStore::new().await;
    let t = trial(&store, "search").await;
    let mut added = Vec::new();
    for (name, email) in [
        ("Ada Lovelace", "ada@example.org"),
        ("Alan Turing", "alan@example.org"),
        ("Mary_Seacole", "mary@nhs.example"),
    ] {
        let person = PersonBuilder::new(name, email).attribute("Estates");
        added.push(person.add_to(&store, &t).await);
    }
    let find = |search: &str| {
        let q = MemberQuery {
            search: Some(search.into()),
            ..Default::default()
        };
        let store = store.store.clone();
        async move {
            store
                .list_members(t.id, &q)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("LOVE").await, vec!["Ada Lovelace"]);
    assert_eq!(find("nhs.example").await, vec!["Mary_Seacole"]);
    assert_eq!(
        find("_").await,
        vec!["Mary_Seacole"],
        "wildcards are matched literally"
    );
    assert_eq!(find("a").await.len(), 3);

    let ada = store
        .list_members(
            t.id,
            &MemberQuery {
                search: Some("ada".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (ada.membership_id, ada.public_id.as_str()),
        (added[0].membership_id, added[0].public_id.as_str())
    );
    assert!(store
        .set_member_state(
            ada.membership_id,
            MembershipState::Paused,
            Some(Utc::now()),
            Utc::now()
        )
        .await
        .unwrap());
    let paused = store
        .list_members(
            t.id,
            &MemberQuery {
                state: Some(MembershipState::Paused),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(paused.len(), 1);
    assert!(paused[0].paused_until.is_some());
    let counts = store.count_members_by_state(t.id).await.unwrap();
    assert_eq!(
        counts,
        vec![(MembershipState::Active, 2), (MembershipState::Paused, 1)]
    );
}

/// Every combination of the list's filters, with and without paging, lists exactly the people
/// it should, in name order, and counts them: the SQL is written per combination, so each
/// one's placeholders are checked here.
#[tokio::test]
async fn every_combination_of_filters_lists_and_counts_the_right_people() {
    use coffee_trials::store::history::HistoryFilter;
    let store = TestStore::new().await;
    let t = trial(&store, "combinations").await;
    // (name, address, paused, refused address, paired); only active people are placed, as
    // publishing a round would otherwise have them resume.
    let people = [
        ("bea Ward", "bea@example.org", false, false, true),
        ("Ada Ward", "ada@example.org", true, false, false),
        ("Carl Stone", "carl@ward.example", false, true, false),
        ("Dee Stone", "dee@example.org", true, true, false),
        ("Eve Ward", "eve@example.org", false, true, true),
        ("Finn Hale", "finn@example.org", false, false, true),
    ];
    let mut ids = Vec::new();
    for (name, email, paused, refused, _) in people {
        let state = if paused {
            MembershipState::Paused
        } else {
            MembershipState::Active
        };
        let person = PersonBuilder::new(name, email)
            .attribute("Estates")
            .state(state);
        let added = person.add_to(&store, &t).await;
        if refused {
            sqlx::query("UPDATE participants SET needs_attention = 'refused' WHERE email = $1")
                .bind(email)
                .execute(store.pool())
                .await
                .unwrap();
        }
        ids.push(added.membership_id);
    }
    let paired: Vec<i64> = (0..people.len())
        .filter(|&i| people[i].4)
        .map(|i| ids[i])
        .collect();
    crate::builders::RoundBuilder::new()
        .group(&paired)
        .published()
        .create(&store, &t)
        .await;

    for search in [None, Some("ward")] {
        for state in [
            None,
            Some(MembershipState::Active),
            Some(MembershipState::Paused),
        ] {
            for needs_attention in [false, true] {
                for history in [
                    None,
                    Some(HistoryFilter::Paired),
                    Some(HistoryFilter::NeverPaired),
                ] {
                    let mut expected: Vec<&str> = people
                        .iter()
                        .filter(|(name, email, paused, refused, was_paired)| {
                            let text = format!("{name} {email}").to_lowercase();
                            search.is_none_or(|s| text.contains(s))
                                && state.is_none_or(|s| (s == MembershipState::Paused) == *paused)
                                && (!needs_attention || *refused)
                                && match history {
                                    Some(HistoryFilter::Paired) => *was_paired,
                                    Some(HistoryFilter::NeverPaired) => !*was_paired,
                                    _ => true,
                                }
                        })
                        .map(|p| p.0)
                        .collect();
                    expected.sort_by_key(|name| name.to_lowercase());
                    let mut q = MemberQuery {
                        search: search.map(str::to_string),
                        state,
                        needs_attention,
                        history,
                        ..Default::default()
                    };
                    let what = format!("{search:?} {state:?} {needs_attention} {history:?}");
                    let count = store.count_member_query(t.id, &q).await.unwrap();
                    assert_eq!(count, expected.len() as i64, "count of {what}");
                    let names = |members: Vec<coffee_trials::store::participants::Member>| {
                        members.into_iter().map(|m| m.name).collect::<Vec<_>>()
                    };
                    let all = names(store.list_members(t.id, &q).await.unwrap());
                    assert_eq!(all, expected, "list of {what}");
                    (q.limit, q.offset) = (2, 1);
                    let page = names(store.list_members(t.id, &q).await.unwrap());
                    let window: Vec<&str> = expected.iter().copied().skip(1).take(2).collect();
                    assert_eq!(page, window, "second and third of {what}");
                }
            }
        }
    }
}
