//! What a resource's lookup found, before anything is changed.
//!
//! [`Resource::find`](super::Resource::find) returns a [`Found`]; `up` acts on it (forgets a
//! recorded resource that is gone, creates what is missing, replaces what can never become
//! right) and `plan` describes what `up` would do with it. The lookup never writes.

/// The result of looking for a resource: recorded id first, then tag or natural key.
#[derive(Debug, Clone, PartialEq)]
pub enum Found<T> {
    /// The recorded resource, alive.
    Recorded(T),
    /// Found by tag or natural key but not recorded (an interrupted run, or adoption). `gone`
    /// names the recorded resource when that one vanished.
    Unrecorded { resource: T, gone: Option<String> },
    /// It exists but can never become right (a failed rule): `up` deletes it and creates anew.
    Replace { resource: T, why: String },
    /// Nothing: it must be created. `gone` names the recorded resource when it vanished
    /// (deleted out of band, or dead).
    Missing { gone: Option<String> },
}

impl<T> Found<T> {
    /// The recorded resource that is gone (to forget before going on), if any.
    pub fn gone(&self) -> Option<&str> {
        match self {
            Self::Recorded(_) | Self::Replace { .. } => None,
            Self::Unrecorded { gone, .. } | Self::Missing { gone } => gone.as_deref(),
        }
    }

    /// The live resource found, recorded or not (`None` when missing or to be replaced).
    pub fn live(self) -> Option<T> {
        match self {
            Self::Recorded(live) | Self::Unrecorded { resource: live, .. } => Some(live),
            Self::Replace { .. } | Self::Missing { .. } => None,
        }
    }

    /// `live`, `Recorded` when `recorded` says so, else `Unrecorded` (nothing recorded is gone).
    pub fn of(live: T, recorded: bool) -> Self {
        if recorded {
            Self::Recorded(live)
        } else {
            Self::Unrecorded {
                resource: live,
                gone: None,
            }
        }
    }

    /// `Unrecorded` or `Missing` from an optional lookup result, after the recorded one (if
    /// any) was found gone.
    pub fn by_key(resource: Option<T>, gone: Option<String>) -> Self {
        match resource {
            Some(resource) => Self::Unrecorded { resource, gone },
            None => Self::Missing { gone },
        }
    }
}

/// `recorded` (when it still reads) and each of `tagged` that is not the same (by `id`), sorted
/// by `id`: everything of a kind found by id or tag that teardown may delete.
pub fn with_tagged<T>(recorded: Option<T>, tagged: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
    let mut all: Vec<T> = recorded.into_iter().collect();
    for t in tagged {
        if !all.iter().any(|a| id(a) == id(&t)) {
            all.push(t);
        }
    }
    all.sort_by(|a, b| id(a).cmp(id(b)));
    all
}

/// `recorded X is gone; ` when `gone` names one, for plan details.
pub fn gone_prefix(what: &str, gone: Option<&str>) -> String {
    gone.map(|g| format!("recorded {what} {g} is gone; "))
        .unwrap_or_default()
}
