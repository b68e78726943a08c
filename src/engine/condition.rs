//! Conditions on observed objects, composable (kube-runtime's `await_condition` and its
//! `Condition`): a wait polls an object and checks one condition, built from small ones.

use super::StepError;

/// Where an observed object stands against a condition.
#[derive(Debug)]
pub enum Readiness {
    Ready,
    /// Not yet; the text is what was seen (`state=provisioning`). Unknown future states belong
    /// here: they are never taken for success.
    Pending(String),
    /// A state the object never leaves: waiting is pointless.
    Failed(StepError),
}

/// A condition an object must meet. Any `Fn(&T) -> Readiness` is one; [`and`](Condition::and)
/// and [`or`](Condition::or) combine them.
pub trait Condition<T: ?Sized>: Send + Sync {
    /// Where `obj` stands.
    fn check(&self, obj: &T) -> Readiness;

    /// Both: the first one not ready decides (a failure of the first is reported first).
    fn and<C: Condition<T>>(self, other: C) -> And<Self, C>
    where
        Self: Sized,
    {
        And(self, other)
    }

    /// Either: ready when one is; otherwise what the first says.
    fn or<C: Condition<T>>(self, other: C) -> Or<Self, C>
    where
        Self: Sized,
    {
        Or(self, other)
    }
}

impl<T: ?Sized, F: Fn(&T) -> Readiness + Send + Sync> Condition<T> for F {
    fn check(&self, obj: &T) -> Readiness {
        self(obj)
    }
}

/// See [`Condition::and`].
pub struct And<A, B>(A, B);

impl<T: ?Sized, A: Condition<T>, B: Condition<T>> Condition<T> for And<A, B> {
    fn check(&self, obj: &T) -> Readiness {
        match self.0.check(obj) {
            Readiness::Ready => self.1.check(obj),
            other => other,
        }
    }
}

/// See [`Condition::or`].
pub struct Or<A, B>(A, B);

impl<T: ?Sized, A: Condition<T>, B: Condition<T>> Condition<T> for Or<A, B> {
    fn check(&self, obj: &T) -> Readiness {
        match (self.0.check(obj), self.1.check(obj)) {
            (Readiness::Ready, _) | (_, Readiness::Ready) => Readiness::Ready,
            (first, _) => first,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_least(n: u32) -> impl Fn(&u32) -> Readiness {
        move |v: &u32| {
            if *v >= n {
                Readiness::Ready
            } else {
                Readiness::Pending(format!("{v} < {n}"))
            }
        }
    }

    fn never_13(v: &u32) -> Readiness {
        if *v == 13 {
            Readiness::Failed(StepError::terminal("13"))
        } else {
            Readiness::Ready
        }
    }

    #[test]
    fn conditions_compose() {
        let c = never_13.and(at_least(10));
        assert!(matches!(c.check(&12), Readiness::Ready));
        assert!(matches!(c.check(&13), Readiness::Failed(_)));
        assert!(matches!(c.check(&3), Readiness::Pending(s) if s == "3 < 10"));
        let either = at_least(10).or(at_least(5));
        assert!(matches!(either.check(&7), Readiness::Ready));
        assert!(matches!(either.check(&1), Readiness::Pending(s) if s == "1 < 10"));
    }
}
