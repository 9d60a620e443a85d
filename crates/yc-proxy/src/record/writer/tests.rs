//! Unit tests of the writer's rewrite policy.

use super::rewrite_due;

#[test]
fn the_cassette_is_rewritten_each_time_it_has_quadrupled() {
    let rewrites: Vec<usize> = {
        let mut at = 0;
        (1..=1000)
            .filter(|&len| {
                let due = rewrite_due(len, at);
                if due {
                    at = len;
                }
                due
            })
            .collect()
    };
    assert_eq!(rewrites, [4, 16, 64, 256]);
    let rewritten: usize = rewrites.iter().sum();
    assert!(
        rewritten < 1000 / 2,
        "O(1) per call: {rewritten} interactions rewritten for 1000"
    );
}

#[test]
fn a_cassette_that_existed_waits_until_it_has_quadrupled() {
    assert!(!rewrite_due(10, 10));
    assert!(!rewrite_due(39, 10));
    assert!(rewrite_due(40, 10));
}
