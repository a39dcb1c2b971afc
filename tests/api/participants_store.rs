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
