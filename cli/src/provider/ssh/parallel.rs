//! Hosts in parallel: one thread per host, every result kept (nothing moves until every host
//! passed, so the caller sees them all).

/// `f` on every item, each on its own thread (hosts are provisioned in parallel); the
/// results in order, a panic counted as a failure.
pub(super) fn per_host<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, String> + Sync,
) -> Vec<Result<R, String>> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = items.iter().map(|x| s.spawn(|| f(x))).collect();
        jobs.into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|_| Err("a provisioning thread panicked".to_string()))
            })
            .collect()
    })
}

/// Splits results into the successes and the error messages.
pub(super) fn split<R>(results: Vec<Result<R, String>>) -> (Vec<R>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(x) => ok.push(x),
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}
