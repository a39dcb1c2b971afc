//! The shared participant store functions, on both backends.
use chrono::Utc;
use coffee_trials::domain::{
    MembershipState, ParticipantDetails, ParticipantInput, TrialInput, TrialSettings,
};
use coffee_trials::store::participants::{add_member, AddOutcome, MemberQuery};
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;

use crate::helpers::spawn_app;

async fn trial(store: &Store, slug: &str) -> Trial {
    let input = TrialInput {
        name: slug.into(),
        slug: slug.into(),
        attribute_values: "Nursing\nEstates".into(),
        ..Default::default()
    };
    store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
        .await
        .unwrap()
}

fn person(name: &str, email: &str, dept: &str) -> ParticipantDetails {
    let input = ParticipantInput {
        name: name.into(),
        email: email.into(),
        attribute_value: dept.into(),
        ..Default::default()
    };
    ParticipantDetails::parse(&input, &["Nursing", "Estates"]).unwrap()
}

#[tokio::test]
async fn one_person_joins_several_trials_once_each() {
    let app = spawn_app().await;
    let (a, b) = (trial(&app.store, "a").await, trial(&app.store, "b").await);
    let mut tx = app.store.pool().begin().await.unwrap();
    let grace = person("Grace", "grace@example.org", "Nursing");
    let first = add_member(
        &mut tx,
        a.id,
        &grace,
        MembershipState::Pending,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    let again = add_member(
        &mut tx,
        a.id,
        &grace,
        MembershipState::Active,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    let other = add_member(
        &mut tx,
        b.id,
        &grace,
        MembershipState::Active,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let AddOutcome::Added {
        membership_id,
        public_id,
    } = first
    else {
        panic!("first add: {first:?}")
    };
    assert_eq!(
        again,
        AddOutcome::AlreadyMember {
            membership_id,
            state: "pending".into()
        }
    );
    assert!(matches!(other, AddOutcome::Added { .. }));
    assert_eq!(public_id.len(), 32);
    let (people,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM participants")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(people, 1);
    let member = app
        .store
        .find_member(a.id, &public_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.email.as_deref(), Some("grace@example.org"));
    assert!(member.confirmed_at.is_none());
}

#[tokio::test]
async fn members_are_searched_filtered_and_paused() {
    let app = spawn_app().await;
    let t = trial(&app.store, "search").await;
    let mut tx = app.store.pool().begin().await.unwrap();
    for (name, email) in [
        ("Ada Lovelace", "ada@example.org"),
        ("Alan Turing", "alan@example.org"),
        ("Mary_Seacole", "mary@nhs.example"),
    ] {
        add_member(
            &mut tx,
            t.id,
            &person(name, email, "Estates"),
            MembershipState::Active,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let find = |search: &str| {
        let q = MemberQuery {
            search: Some(search.into()),
            ..Default::default()
        };
        let store = app.store.clone();
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

    let ada = app
        .store
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
    assert!(app
        .store
        .set_member_state(
            ada.membership_id,
            MembershipState::Paused,
            Some(Utc::now()),
            Utc::now()
        )
        .await
        .unwrap());
    let paused = app
        .store
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
    let counts = app.store.count_members_by_state(t.id).await.unwrap();
    assert_eq!(
        counts,
        vec![("active".to_string(), 2), ("paused".to_string(), 1)]
    );
}
