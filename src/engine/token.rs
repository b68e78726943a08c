use sha2::{Digest, Sha256};

/// A deterministic idempotency token (EC2 `ClientToken`, ≤ 64 ASCII characters).
///
/// The same deployment lineage, step, purpose and generation always give the same token, so a
/// create retried after a crash — by this process or the next — returns the resource the first
/// call made instead of a duplicate (field notes §C.3). AWS SDKs generate a random token per call,
/// which does not survive a restart; this one does. The generation changes only when a resource
/// is known to be gone and must be made anew.
pub fn idempotency_token(lineage: &str, step: &str, purpose: &str, generation: u32) -> String {
    let mut hash = Sha256::new();
    for part in [lineage, step, purpose, &generation.to_string()] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("plink-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_token_and_fits_ec2_limit() {
        let a = idempotency_token("lin", "endpoint", "create", 0);
        assert_eq!(a, idempotency_token("lin", "endpoint", "create", 0));
        assert!(a.len() <= 64 && a.is_ascii());
    }

    #[test]
    fn every_input_changes_the_token() {
        let base = idempotency_token("lin", "endpoint", "create", 0);
        assert_ne!(base, idempotency_token("lin2", "endpoint", "create", 0));
        assert_ne!(base, idempotency_token("lin", "nlb", "create", 0));
        assert_ne!(base, idempotency_token("lin", "endpoint", "other", 0));
        assert_ne!(base, idempotency_token("lin", "endpoint", "create", 1));
        // Separators keep ("ab","c") apart from ("a","bc").
        assert_ne!(
            idempotency_token("ab", "c", "x", 0),
            idempotency_token("a", "bc", "x", 0)
        );
    }
}
