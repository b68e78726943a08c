//! Serializes find-then-create sections across the deployments one process runs at once.
//!
//! Databricks creates have no idempotency token, so two deployments of one `plink up` that share
//! an NCC name, or that both count the regional limits before creating, would race: both list,
//! both see nothing, both create. Holding a lock keyed by account and region around "look up,
//! check the limit, create" makes the second one find what the first made. (Separate processes
//! are kept apart per deployment by the state lock; they do not coordinate limits.)

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

static LOCKS: LazyLock<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>> = LazyLock::new(Mutex::default);

/// Waits for and holds the lock named `key` until the guard is dropped.
pub async fn lock(key: String) -> OwnedMutexGuard<()> {
    let mutex = {
        let mut map = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_default().clone()
    };
    mutex.lock_owned().await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_holder_per_key_at_a_time_and_keys_are_independent() {
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (inside, max) = (inside.clone(), max.clone());
            tasks.push(tokio::spawn(async move {
                let _g = lock("test:key".into()).await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        let _other = lock("test:other".into()).await; // never blocks the first key
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max.load(Ordering::SeqCst), 1);
    }
}
