//! One way to spread per-interaction work of a long cassette over the cores: contiguous chunks on scoped threads,
//! results in input order. Loading, preparing and scanning 100k interactions are each a pure map over them.

/// Below this many items one thread does the work: starting threads would cost more than it saves.
pub const PARALLEL_FROM: usize = 2048;

/// `f(index, item)` for every item, in order, on up to eight threads for [`PARALLEL_FROM`] items or more; on
/// failure, the error of the first failing item by position (whichever thread found it first).
pub fn try_map<T, U, E, F>(items: &[T], f: F) -> Result<Vec<U>, E>
where
    T: Sync,
    U: Send,
    E: Send,
    F: Fn(usize, &T) -> Result<U, E> + Sync,
{
    // Asked only for long inputs: `available_parallelism` reads cgroup files, which a recorder scanning one
    // interaction per call paid on every call (a third of its work per call, when a writer thread did it).
    let threads = if items.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(8)
    };
    if threads < 2 {
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| f(i, item))
            .collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, item)| f(c * chunk + i, item))
                        .collect::<Result<Vec<U>, E>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for worker in workers {
            match worker.join() {
                Ok(part) => out.extend(part?),
                // Only a panic in `f` gets here; carry it on, as the single-threaded path would.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_input_order_and_the_first_error_wins() {
        let items: Vec<usize> = (0..PARALLEL_FROM * 3 + 5).collect();
        let doubled = try_map(&items, |i, &x| Ok::<_, ()>((i, x * 2))).unwrap();
        assert!(
            doubled
                .iter()
                .enumerate()
                .all(|(i, &(j, y))| i == j && y == 2 * i)
        );
        let failed = try_map(&items, |i, _| if i % 1000 == 999 { Err(i) } else { Ok(i) });
        assert_eq!(failed, Err(999));
        let small = try_map(&items[..10], |i, _| if i >= 3 { Err(i) } else { Ok(i) });
        assert_eq!(small, Err(3));
    }
}
