//! Bounded parallelism: at most `PLINK_E2E_STACKS` local stacks run at once in a test binary,
//! whatever `--test-threads` says. `cargo test` runs test binaries one after the other, so the
//! limit holds for the whole suite.

use std::sync::{Condvar, Mutex};

use super::env::knobs;

struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
}

static SLOTS: Slots = Slots {
    used: Mutex::new(0),
    freed: Condvar::new(),
};

/// One of the `PLINK_E2E_STACKS` slots; freed on drop.
pub struct Permit(());

impl Permit {
    /// Waits for a free slot and takes it.
    pub fn acquire() -> Self {
        let max = knobs().stacks;
        let mut used = SLOTS.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= max {
            used = SLOTS.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        Permit(())
    }

    /// How many slots are taken now.
    pub fn in_use() -> usize {
        *SLOTS.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut used = SLOTS.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= 1;
        SLOTS.freed.notify_one();
    }
}
