//! Hosts in parallel: one thread per host, every result kept (nothing moves until every host
//! passed, so the caller sees them all).

/// `f` on every item, each on its own thread (hosts are provisioned in parallel); the
/// results in order. A panic (a bug) goes on in the caller.
pub(super) fn per_host<T: Sync, R: Send, E: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Vec<Result<R, E>> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = items.iter().map(|x| s.spawn(|| f(x))).collect();
        jobs.into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Splits results into the successes and the errors' messages.
pub(super) fn split<R, E: std::fmt::Display>(results: Vec<Result<R, E>>) -> (Vec<R>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(x) => ok.push(x),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (ok, errors)
}
