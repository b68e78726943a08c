//! An in-memory cloud for engine tests, with a crash switch that stops everything at an exact
//! point (after N durable events), the way `kill -9` stops a process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// Counts durable events (state writes, cloud commits); after `budget` of them everything fails.
#[derive(Debug)]
pub struct CrashSwitch {
    budget: AtomicI64,
    crashed: AtomicBool,
    events: AtomicI64,
}

impl CrashSwitch {
    pub fn after(budget: i64) -> Arc<Self> {
        Arc::new(Self {
            budget: AtomicI64::new(budget),
            crashed: AtomicBool::new(false),
            events: AtomicI64::new(0),
        })
    }

    pub fn never() -> Arc<Self> {
        Self::after(i64::MAX)
    }

    /// Called before a durable event; an error means "the process is dead": the event must not happen.
    pub fn tick(&self) -> Result<(), String> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err("crashed".into());
        }
        if self.budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
            self.crashed.store(true, Ordering::SeqCst);
            return Err("crashed".into());
        }
        self.events.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    pub fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    pub fn events(&self) -> i64 {
        self.events.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
pub struct FakeResource {
    pub kind: String,
    pub name: String,
    pub polls_until_ready: u32,
}

#[derive(Default)]
struct Inner {
    resources: BTreeMap<String, FakeResource>,
    by_token: BTreeMap<String, String>,
    serial: BTreeMap<(String, String), u32>,
    creates: u32,
}

/// The fake cloud. Ids are `<kind>-<name>-<n>`, `n` counting creates of that kind and name, so
/// a duplicate shows up as `-2`.
#[derive(Clone)]
pub struct FakeCloud {
    inner: Arc<Mutex<Inner>>,
    pub crash: Arc<Mutex<Arc<CrashSwitch>>>,
    /// Polls a new resource needs before it is ready.
    pub ready_after: u32,
}

impl FakeCloud {
    pub fn new(ready_after: u32) -> Self {
        Self {
            inner: Arc::default(),
            crash: Arc::new(Mutex::new(CrashSwitch::never())),
            ready_after,
        }
    }

    pub fn set_crash(&self, switch: Arc<CrashSwitch>) {
        *self.crash.lock().unwrap() = switch;
    }

    fn switch(&self) -> Arc<CrashSwitch> {
        self.crash.lock().unwrap().clone()
    }

    /// Creates a resource; with a token, a repeated call returns the first resource (as EC2 does).
    pub fn create(&self, kind: &str, name: &str, token: Option<&str>) -> Result<String, String> {
        let switch = self.switch();
        if switch.crashed() {
            return Err("crashed".into());
        }
        let mut inner = self.inner.lock().unwrap();
        if let Some(id) = token.and_then(|t| inner.by_token.get(t)) {
            return Ok(id.clone());
        }
        switch.tick()?;
        let n = inner.serial.entry((kind.into(), name.into())).or_default();
        *n += 1;
        let id = format!("{kind}-{name}-{n}");
        inner.resources.insert(
            id.clone(),
            FakeResource {
                kind: kind.into(),
                name: name.into(),
                polls_until_ready: self.ready_after,
            },
        );
        if let Some(t) = token {
            inner.by_token.insert(t.into(), id.clone());
        }
        inner.creates += 1;
        Ok(id)
    }

    pub fn find_by_name(&self, kind: &str, name: &str) -> Option<String> {
        let inner = self.inner.lock().unwrap();
        inner
            .resources
            .iter()
            .find(|(_, r)| r.kind == kind && r.name == name)
            .map(|(id, _)| id.clone())
    }

    pub fn exists(&self, id: &str) -> bool {
        self.inner.lock().unwrap().resources.contains_key(id)
    }

    pub fn delete(&self, id: &str) {
        self.inner.lock().unwrap().resources.remove(id);
    }

    /// "pending" until the resource was polled `ready_after` times, then "available".
    pub fn poll(&self, id: &str) -> Result<&'static str, String> {
        if self.switch().crashed() {
            return Err("crashed".into());
        }
        let mut inner = self.inner.lock().unwrap();
        let r = inner
            .resources
            .get_mut(id)
            .ok_or_else(|| format!("{id} not found"))?;
        if r.polls_until_ready == 0 {
            return Ok("available");
        }
        r.polls_until_ready -= 1;
        Ok("pending")
    }

    /// The state `poll` would report, without counting a poll: `None` when the resource is gone.
    pub fn peek(&self, id: &str) -> Option<&'static str> {
        let inner = self.inner.lock().unwrap();
        let r = inner.resources.get(id)?;
        Some(if r.polls_until_ready == 0 {
            "available"
        } else {
            "pending"
        })
    }

    /// Makes `id` report "pending" for its next `polls` polls (it is provisioning again).
    pub fn set_pending(&self, id: &str, polls: u32) {
        if let Some(r) = self.inner.lock().unwrap().resources.get_mut(id) {
            r.polls_until_ready = polls;
        }
    }

    /// Makes every existing resource ready at its next poll.
    pub fn make_all_ready(&self) {
        for r in self.inner.lock().unwrap().resources.values_mut() {
            r.polls_until_ready = 0;
        }
    }

    pub fn count(&self, kind: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .resources
            .values()
            .filter(|r| r.kind == kind)
            .count()
    }

    pub fn total_creates(&self) -> u32 {
        self.inner.lock().unwrap().creates
    }

    pub fn ids(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .resources
            .keys()
            .cloned()
            .collect()
    }
}
