//! Whether, and how, a group can meet: the ways its members share and, for
//! meeting in person, a site they can all reach.
//!
//! The rule (also in the yardstick's FORMAT.md): two people can meet when they
//! share a way other than in person, or both meet in person and their sites are
//! equal, or one of them gave no site. With [`Rules::same_site_only`] an empty
//! site no longer counts as "anywhere": in person then needs the same named site.
//!
//! [`Rules::same_site_only`]: super::Rules::same_site_only

use serde::Serialize;

/// One way of meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    InPerson,
    Video,
    Phone,
}

impl Way {
    pub const ALL: [Way; 3] = [Way::InPerson, Way::Video, Way::Phone];

    /// Parses a way as written in instance files: `in_person`, `video`, `phone`.
    pub fn parse(name: &str) -> Option<Way> {
        match name {
            "in_person" => Some(Way::InPerson),
            "video" => Some(Way::Video),
            "phone" => Some(Way::Phone),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Way::InPerson => 1,
            Way::Video => 2,
            Way::Phone => 4,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Way::InPerson => "in person",
            Way::Video => "video",
            Way::Phone => "phone",
        }
    }
}

/// The set of ways someone can meet. [`Ways::ANY`] (the default) stands for a
/// person who did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ways(u8);

impl Default for Ways {
    fn default() -> Self {
        Ways::ANY
    }
}

impl Ways {
    pub const ANY: Ways = Ways(7);
    pub const NONE: Ways = Ways(0);

    /// The ways listed; an empty list means the person did not say, so any way.
    pub fn from_list<I: IntoIterator<Item = Way>>(ways: I) -> Ways {
        let bits = ways.into_iter().fold(0, |acc, w| acc | w.bit());
        if bits == 0 {
            Ways::ANY
        } else {
            Ways(bits)
        }
    }

    pub fn contains(self, way: Way) -> bool {
        self.0 & way.bit() != 0
    }

    pub fn intersect(self, other: Ways) -> Ways {
        Ways(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as bits (in person 1, video 2, phone 4), for the engine's dense tables.
    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    pub fn iter(self) -> impl Iterator<Item = Way> {
        Way::ALL.into_iter().filter(move |w| self.contains(*w))
    }

    fn describe(self) -> String {
        let labels: Vec<&str> = self.iter().map(Way::label).collect();
        match labels.as_slice() {
            [] => "no way given".into(),
            [one] => format!("{one} only"),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }
}

/// What one member told us about meeting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reach<'a> {
    pub ways: Ways,
    /// `None` or empty: no site given.
    pub site: Option<&'a str>,
}

impl<'a> Reach<'a> {
    fn site(&self) -> Option<&'a str> {
        self.site.map(str::trim).filter(|s| !s.is_empty())
    }

    fn describe(&self) -> String {
        match (self.ways.contains(Way::InPerson), self.site()) {
            (true, Some(site)) if self.ways == Ways::from_list([Way::InPerson]) => {
                format!("in person only at {site}")
            }
            (true, Some(site)) => format!("{} (in person at {site})", self.ways.describe()),
            _ => self.ways.describe(),
        }
    }
}

/// How a group can meet, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "can_meet", rename_all = "snake_case")]
pub enum HowToMeet {
    /// `ways` is never empty; `site` is set when in person is among the ways and
    /// at least one member named a site.
    Yes {
        ways: Vec<Way>,
        site: Option<String>,
    },
    /// A short reason for organisers, e.g. "in person only at Royal Infirmary,
    /// and video only".
    No { reason: String },
}

impl HowToMeet {
    pub fn can_meet(&self) -> bool {
        matches!(self, HowToMeet::Yes { .. })
    }
}

/// Whether the two can meet; the cheap test the engine uses for every candidate pair.
pub fn pair_can_meet(a: &Reach, b: &Reach, same_site_only: bool) -> bool {
    let shared = a.ways.intersect(b.ways);
    if shared.contains(Way::Video) || shared.contains(Way::Phone) {
        return true;
    }
    shared.contains(Way::InPerson) && sites_agree([a, b].into_iter(), same_site_only).is_some()
}

/// How the whole group (two or three people) can meet.
pub fn how_group_meets(members: &[Reach], same_site_only: bool) -> HowToMeet {
    let shared = members
        .iter()
        .fold(Ways::ANY, |acc, m| acc.intersect(m.ways));
    let site = if shared.contains(Way::InPerson) {
        sites_agree(members.iter(), same_site_only)
    } else {
        None
    };
    let ways: Vec<Way> = shared
        .iter()
        .filter(|w| *w != Way::InPerson || site.is_some())
        .collect();
    if ways.is_empty() {
        let reason = members
            .iter()
            .map(Reach::describe)
            .collect::<Vec<_>>()
            .join(", and ");
        return HowToMeet::No { reason };
    }
    HowToMeet::Yes {
        site: site.flatten().map(str::to_string),
        ways,
    }
}

/// `Some(site)` when everyone can get to one place: `Some(None)` when nobody
/// named a site (and that is allowed), `None` when they cannot.
fn sites_agree<'r, 'a: 'r>(
    members: impl Iterator<Item = &'r Reach<'a>>,
    same_site_only: bool,
) -> Option<Option<&'a str>> {
    let mut common: Option<&'a str> = None;
    for m in members {
        match m.site() {
            None if same_site_only => return None,
            None => {}
            Some(site) => match common {
                None => common = Some(site),
                Some(c) if c.eq_ignore_ascii_case(site) => {}
                Some(_) => return None,
            },
        }
    }
    Some(common)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(ways: &[Way], site: Option<&'static str>) -> Reach<'static> {
        Reach {
            ways: Ways::from_list(ways.iter().copied()),
            site,
        }
    }

    #[test]
    fn a_shared_remote_way_is_enough_whatever_the_sites() {
        let a = reach(&[Way::InPerson, Way::Video], Some("North"));
        let b = reach(&[Way::Video], Some("South"));
        assert!(pair_can_meet(&a, &b, false));
        assert_eq!(
            how_group_meets(&[a, b], false),
            HowToMeet::Yes {
                ways: vec![Way::Video],
                site: None
            }
        );
    }

    #[test]
    fn in_person_needs_the_same_site_or_one_left_blank() {
        let north = reach(&[Way::InPerson], Some("North"));
        let south = reach(&[Way::InPerson], Some("South"));
        let anywhere = reach(&[Way::InPerson], None);
        assert!(!pair_can_meet(&north, &south, false));
        assert!(pair_can_meet(&north, &anywhere, false));
        assert!(pair_can_meet(
            &north,
            &reach(&[Way::InPerson], Some(" north ")),
            false
        ));
        assert_eq!(
            how_group_meets(&[north, anywhere], false),
            HowToMeet::Yes {
                ways: vec![Way::InPerson],
                site: Some("North".into())
            }
        );
    }

    #[test]
    fn same_site_only_makes_a_blank_site_count_for_nothing() {
        let north = reach(&[Way::InPerson], Some("North"));
        let anywhere = reach(&[Way::InPerson], None);
        assert!(!pair_can_meet(&north, &anywhere, true));
        assert!(pair_can_meet(&north, &north, true));
    }

    #[test]
    fn people_who_did_not_say_can_meet_anyone_who_did() {
        let silent = Reach::default();
        let phone = reach(&[Way::Phone], None);
        assert!(pair_can_meet(&silent, &phone, false));
        assert!(pair_can_meet(&silent, &silent, true));
    }

    #[test]
    fn a_group_that_cannot_meet_says_why() {
        let a = reach(&[Way::InPerson], Some("Royal Infirmary"));
        let b = reach(&[Way::Video], None);
        assert!(!pair_can_meet(&a, &b, false));
        assert_eq!(
            how_group_meets(&[a, b], false),
            HowToMeet::No {
                reason: "in person only at Royal Infirmary, and video only".into()
            }
        );
    }

    #[test]
    fn a_trio_shares_only_what_all_three_share() {
        let a = reach(&[Way::Video, Way::Phone], None);
        let b = reach(&[Way::Phone, Way::Video], None);
        let c = reach(&[Way::Phone, Way::InPerson], None);
        assert_eq!(
            how_group_meets(&[a, b, c], false),
            HowToMeet::Yes {
                ways: vec![Way::Phone],
                site: None
            }
        );
    }
}
