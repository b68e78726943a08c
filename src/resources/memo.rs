//! What a lookup answered earlier in the same run, served once to the next lookup of the same
//! thing (issue #13: no request that cannot tell anything new).
//!
//! The preflight (issue #16) makes some of the lookups the steps make again moments later: the
//! VPC and subnets, the region's NCCs. What it found is kept here with the *epoch* it was read
//! at: how many requests of this process could have changed the answer by then (for the NCCs,
//! [`AccountClient::mutations`](crate::databricks::AccountClient::mutations); for what plink
//! never changes, [`NEVER_CHANGED`]). The step's own lookup [takes](Memo::take) it instead of
//! asking again: once (the entry is removed, so a retry asks anew), and only while the epoch is
//! the same (nothing of this process mutated in between, another deployment of the same
//! `plink up` included). So the never-a-duplicate rule holds: every create still follows a
//! lookup of the same run with nothing mutating in between.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The epoch of answers about what plink never changes (a VPC, its subnets).
pub const NEVER_CHANGED: u64 = 0;

/// The answers kept for the next lookup, by key (the node and what it looked up).
#[derive(Default)]
pub struct Memo {
    kept: Mutex<HashMap<String, Kept>>,
}

struct Kept {
    epoch: u64,
    answer: Box<dyn Any + Send + Sync>,
}

impl Memo {
    /// Keeps `answer`, read at `epoch`, for the next [`take`](Self::take) of `key` (replacing
    /// what was kept under it).
    pub fn keep<T: Any + Send + Sync>(&self, key: &str, epoch: u64, answer: T) {
        self.kept().insert(
            key.to_owned(),
            Kept {
                epoch,
                answer: Box::new(answer),
            },
        );
    }

    /// The answer kept under `key`, if it was read at epoch `now` (nothing changed since), and
    /// removed either way: an answer serves one lookup.
    pub fn take<T: Any + Send + Sync>(&self, key: &str, now: u64) -> Option<T> {
        let kept = self.kept().remove(key)?;
        if kept.epoch != now {
            return None;
        }
        kept.answer.downcast::<T>().ok().map(|answer| *answer)
    }

    fn kept(&self) -> MutexGuard<'_, HashMap<String, Kept>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_serves_the_next_lookup_once() {
        let memo = Memo::default();
        memo.keep("network", NEVER_CHANGED, vec!["vpc-1".to_owned()]);
        assert_eq!(
            memo.take::<Vec<String>>("network", NEVER_CHANGED),
            Some(vec!["vpc-1".to_owned()])
        );
        // A second lookup (a retry) asks again.
        assert_eq!(memo.take::<Vec<String>>("network", NEVER_CHANGED), None);
    }

    #[test]
    fn a_mutation_since_the_answer_was_read_invalidates_it() {
        let memo = Memo::default();
        memo.keep("ncc", 3, 10_usize);
        // One mutating request of this process since: the answer may be stale.
        assert_eq!(memo.take::<usize>("ncc", 4), None);
        // …and it is gone, even for a lookup at the old epoch.
        assert_eq!(memo.take::<usize>("ncc", 3), None);
    }

    #[test]
    fn keys_and_types_are_kept_apart() {
        let memo = Memo::default();
        memo.keep("a", 1, 1_u32);
        memo.keep("b", 1, "two");
        assert_eq!(memo.take::<u32>("b", 1), None, "another type is not served");
        assert_eq!(memo.take::<u32>("a", 1), Some(1));
        // A newer answer replaces an older one.
        memo.keep("a", 1, 1_u32);
        memo.keep("a", 2, 2_u32);
        assert_eq!(memo.take::<u32>("a", 1), None);
        memo.keep("a", 2, 2_u32);
        assert_eq!(memo.take::<u32>("a", 2), Some(2));
    }
}
