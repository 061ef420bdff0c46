//! Property tests: a wait's figures against a brute-force, minute-by-minute reading
//! of the rules (the hours' property tests' generator and rule reader).

use super::Outcome;
use super::measure::{measure, minutes_needed};
use crate::hours::BusinessHours;
use crate::hours::props::{Spec, case};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

/// The smallest minutes whose deadline from `t` is not before `answered`, found by
/// walking the minutes from `t`: 0 if nothing is open before the answer, else the
/// rank of the first open minute that ends at or after it.
fn brute_minutes_needed(spec: &Spec, t: DateTime<Utc>, answered: DateTime<Utc>) -> Option<u32> {
    let mut rank = 0u32;
    for m in 0..(4 * 1440) {
        let minute = t + Duration::minutes(m);
        if !spec.open(minute) {
            continue;
        }
        if minute >= answered {
            // Nothing open before the answer: the deadline of 0 minutes is this
            // open instant. Else the answer came in closed time after the
            // `rank`-th open minute ended: one more minute reaches past it.
            return Some(if rank == 0 { 0 } else { rank + 1 });
        }
        rank += 1;
        if minute + Duration::minutes(1) >= answered {
            return Some(rank);
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Business minutes are the open minutes counted one by one; the promise is
    /// kept exactly when the answer needed no more than `first_response_minutes`;
    /// and the calibration's minutes agree with the walk.
    #[test]
    fn a_wait_measures_as_its_minutes_counted_one_by_one(
        (spec, t) in case(),
        minutes in 0i64..(2 * 1440),
    ) {
        let Ok(h) = BusinessHours::from_json(&spec.json(), t) else { return Ok(()) };
        let answered = t + Duration::minutes(minutes);
        let m = measure(&h, t, Some((answered, Outcome::Answered)), None);
        let counted = (0..minutes)
            .filter(|i| spec.open(t + Duration::minutes(*i)))
            .count() as i64;
        prop_assert_eq!(m.business_seconds, Some(counted * 60));
        prop_assert_eq!(m.wall_seconds, Some(minutes * 60));
        let brute = brute_minutes_needed(&spec, t, answered);
        if let Some(needed) = brute {
            prop_assert_eq!(minutes_needed(&h, t, answered), Some(needed));
            if m.promise_at.is_some() {
                prop_assert_eq!(m.kept, Some(needed <= spec.first_response));
            }
        }
        // A told promise decides on its own.
        let told = measure(&h, t, Some((answered, Outcome::Answered)), Some(answered));
        prop_assert_eq!(told.kept, Some(true));
        let resolved = measure(&h, t, Some((answered, Outcome::Resolved)), None);
        prop_assert_eq!(resolved.kept, None);
    }
}
