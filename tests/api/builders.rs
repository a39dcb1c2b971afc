//! Set-up through the store's own functions instead of raw SQL, so tests follow the schema
//! when it changes. Each builder starts from sensible defaults; a test names only what it
//! cares about.
use chrono::Utc;
use coffee_trials::domain::{
    MembershipState, ParticipantDetails, ParticipantInput, TrialInput, TrialSettings,
};
use coffee_trials::store::participants::{add_member, AddOutcome};
use coffee_trials::store::rounds::{mark_published, NewGroup, Round};
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;

/// A trial, saved with [`Store::create_trial`].
pub struct TrialBuilder {
    input: TrialInput,
}

impl TrialBuilder {
    /// A trial called `slug`, with free-text attribute values.
    pub fn new(slug: &str) -> Self {
        Self {
            input: TrialInput {
                name: slug.into(),
                slug: slug.into(),
                ..Default::default()
            },
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.input.name = name.into();
        self
    }

    /// The allowed attribute values, one per line; empty means free text.
    pub fn attribute_values(mut self, values: &str) -> Self {
        self.input.attribute_values = values.into();
        self
    }

    pub fn kind(mut self, kind: &str) -> Self {
        self.input.kind = kind.into();
        self
    }

    /// Any other field of the form, for what the named methods do not cover.
    pub fn with(mut self, change: impl FnOnce(&mut TrialInput)) -> Self {
        change(&mut self.input);
        self
    }

    pub async fn create(self, store: &Store) -> Trial {
        let settings = TrialSettings::try_from(&self.input).expect("the trial settings are valid");
        store
            .create_trial(&settings, Utc::now())
            .await
            .expect("the trial is saved")
    }

    /// Saves these settings over the trial already at this builder's slug, as an organiser's
    /// edit does.
    pub async fn update(self, store: &Store) -> Trial {
        let settings = TrialSettings::try_from(&self.input).expect("the trial settings are valid");
        store
            .update_trial(&self.input.slug, &settings, Utc::now())
            .await
            .expect("the trial is saved")
    }
}

/// A member of one trial, added with [`add_member`].
#[derive(Clone)]
pub struct PersonBuilder {
    input: ParticipantInput,
    state: MembershipState,
    consented: bool,
}

/// The member a [`PersonBuilder`] added.
#[derive(Clone, Debug)]
pub struct AddedPerson {
    pub membership_id: i64,
    pub public_id: String,
}

impl PersonBuilder {
    /// An active member called `name`, at `email`.
    pub fn new(name: &str, email: &str) -> Self {
        Self {
            input: ParticipantInput {
                name: name.into(),
                email: email.into(),
                ..Default::default()
            },
            state: MembershipState::Active,
            consented: false,
        }
    }

    /// Adds `n` people to the trial, the i-th as `person(i)` makes them (often from
    /// [`PersonBuilder::numbered`]).
    pub async fn add_many(
        store: &Store,
        trial: &Trial,
        n: usize,
        person: impl Fn(usize) -> PersonBuilder,
    ) -> Vec<AddedPerson> {
        let mut added = Vec::with_capacity(n);
        for i in 0..n {
            added.push(person(i).add_to(store, trial).await);
        }
        added
    }

    /// "Person 00" at p0@example.org, "Person 01" at p1@example.org, ...: an active member
    /// who stated their consent when they joined.
    pub fn numbered(i: usize) -> Self {
        Self::new(&format!("Person {i:02}"), &format!("p{i}@example.org")).consented()
    }

    /// They stated their consent as they were added (now).
    pub fn consented(mut self) -> Self {
        self.consented = true;
        self
    }

    pub fn introduction(mut self, text: &str) -> Self {
        self.input.introduction = text.into();
        self
    }

    /// The value of the trial's grouping attribute (for example a department).
    pub fn attribute(mut self, value: &str) -> Self {
        self.input.attribute_value = value.into();
        self
    }

    /// Where they can meet in person.
    pub fn site(mut self, site: &str) -> Self {
        self.input.site = site.into();
        self
    }

    /// How they can meet: "in_person", "video", "phone" (none given means any way).
    pub fn modes(mut self, modes: &[&str]) -> Self {
        self.input.meeting_modes = modes.iter().map(|m| m.to_string()).collect();
        self
    }

    pub fn state(mut self, state: MembershipState) -> Self {
        self.state = state;
        self
    }

    /// The details as the trial's rules accept them.
    pub fn details(&self, trial: &Trial) -> ParticipantDetails {
        ParticipantDetails::parse(&self.input, &trial.attribute_value_list())
            .expect("the person's details are valid")
    }

    /// Adds the person; answers what [`add_member`] answered (an address already in the
    /// trial is not an error).
    pub async fn try_add_to(&self, store: &Store, trial: &Trial) -> AddOutcome {
        let details = self.details(trial);
        let mut tx = store.pool().begin().await.expect("a transaction");
        let now = Utc::now();
        let consent_at = self.consented.then_some(now);
        let outcome = add_member(&mut tx, trial.id, &details, self.state, consent_at, now)
            .await
            .expect("the member is saved");
        tx.commit().await.expect("commit");
        outcome
    }

    /// Adds the person, who must be new to the trial.
    pub async fn add_to(&self, store: &Store, trial: &Trial) -> AddedPerson {
        match self.try_add_to(store, trial).await {
            AddOutcome::Added {
                membership_id,
                public_id,
                ..
            } => AddedPerson {
                membership_id,
                public_id,
            },
            other => panic!("expected a new member, got {other:?}"),
        }
    }
}

/// A round of a trial, saved with [`Store::create_draft_round`] and published if asked.
#[derive(Default)]
pub struct RoundBuilder {
    groups: Vec<Vec<i64>>,
    published: bool,
}

impl RoundBuilder {
    /// A manual draft round with no groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// One more group of these memberships.
    pub fn group(mut self, membership_ids: &[i64]) -> Self {
        self.groups.push(membership_ids.to_vec());
        self
    }

    pub fn published(mut self) -> Self {
        self.published = true;
        self
    }

    pub async fn create(self, store: &Store, trial: &Trial) -> Round {
        let groups: Vec<NewGroup> = self
            .groups
            .into_iter()
            .map(|membership_ids| NewGroup {
                membership_ids,
                reason: "set up by the test".into(),
                table_label: None,
            })
            .collect();
        let round = store
            .create_draft_round(
                trial.id,
                coffee_trials::domain::RoundKind::Manual,
                7,
                None,
                &groups,
                Utc::now(),
            )
            .await
            .expect("the round is saved")
            .expect("a manual round has no slot to clash on");
        if self.published {
            let mut tx = store.pool().begin().await.expect("a transaction");
            assert!(mark_published(&mut tx, round.id, Utc::now())
                .await
                .expect("the round is published"));
            tx.commit().await.expect("commit");
        }
        round
    }
}
