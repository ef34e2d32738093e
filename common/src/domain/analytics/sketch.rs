//! Durations kept as counts in fixed logarithmic buckets: a sketch that merges by adding
//! counts and forgets by subtracting them, so that totals built one change at a time equal
//! totals built at once, and any set of days and lanes is answered by adding their buckets.

/// The ratio between neighbouring bucket bounds: any value is answered within 1 % of itself.
const GAMMA: f64 = 1.02;

/// The bucket of a duration of `hours` (negative durations count as 0): bucket 0 holds
/// everything under an hour, bucket `i` holds (`GAMMA^(i-1)`, `GAMMA^i`] hours.
pub fn bucket_of(hours: f64) -> u32 {
    if hours.is_nan() || hours < 1.0 {
        return 0;
    }
    // The largest duration kept apart is 10 years; longer ones share the last bucket.
    (hours.ln() / GAMMA.ln()).ceil().clamp(1.0, 4500.0) as u32
}

/// The value a bucket stands for, in hours: the point that is within 1 % of every value the
/// bucket holds (0.5 for the first bucket).
pub fn bucket_value(bucket: u32) -> f64 {
    if bucket == 0 {
        return 0.5;
    }
    2.0 * GAMMA.powi(bucket as i32) / (GAMMA + 1.0)
}

/// The `q`-quantile (0..=1) of a distribution given as (bucket, count) pairs, in hours:
/// the value of the bucket holding the sample of rank `ceil(q * n)`. `None` when empty.
pub fn quantile(buckets: &[(u32, i64)], q: f64) -> Option<f64> {
    value_at_rank(buckets, rank_of(total(buckets), q))
}

/// How many samples `buckets` holds.
pub fn total(buckets: &[(u32, i64)]) -> i64 {
    buckets.iter().map(|(_, count)| count.max(&0)).sum()
}

fn rank_of(n: i64, q: f64) -> i64 {
    ((q.clamp(0.0, 1.0) * n as f64).ceil() as i64).clamp(1, n.max(1))
}

/// The value of the sample of `rank` (1-based) in ascending order, buckets in any order.
pub fn value_at_rank(buckets: &[(u32, i64)], rank: i64) -> Option<f64> {
    let mut sorted: Vec<(u32, i64)> = buckets.iter().copied().filter(|(_, count)| *count > 0).collect();
    sorted.sort_unstable_by_key(|(bucket, _)| *bucket);
    let mut seen = 0;
    for (bucket, count) in sorted {
        seen += count;
        if seen >= rank {
            return Some(bucket_value(bucket));
        }
    }
    None
}

/// A distribution-free confidence interval (about 95 %) for the `q`-quantile: the values of
/// the order statistics at ranks `n q -/+ 1.96 sqrt(n q (1 - q))`. `None` when empty.
pub fn quantile_interval(buckets: &[(u32, i64)], q: f64) -> Option<(f64, f64)> {
    let n = total(buckets);
    if n == 0 {
        return None;
    }
    let spread = 1.96 * (n as f64 * q * (1.0 - q)).sqrt();
    let centre = n as f64 * q;
    let low = ((centre - spread).floor() as i64).clamp(1, n);
    let high = ((centre + spread).ceil() as i64 + 1).clamp(1, n);
    Some((value_at_rank(buckets, low)?, value_at_rank(buckets, high)?))
}

/// The Wilson score interval (about 95 %) for a share of `hits` in `n`. `None` when `n` is 0.
pub fn share_interval(hits: i64, n: i64) -> Option<(f64, f64)> {
    if n <= 0 {
        return None;
    }
    let (z, n, p) = (1.96_f64, n as f64, hits.clamp(0, n) as f64 / n as f64);
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    Some(((centre - spread).max(0.0), (centre + spread).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_answered_within_one_percent() {
        for hours in [1.0, 1.5, 7.0, 23.9, 24.0, 50.5, 100.0, 333.3, 2000.0, 8760.0] {
            let answered = bucket_value(bucket_of(hours));
            assert!((answered - hours).abs() / hours <= 0.0101, "{hours} answered as {answered}");
        }
        assert_eq!(bucket_of(0.2), 0);
        assert_eq!(bucket_of(-3.0), 0);
        assert_eq!(bucket_of(f64::NAN), 0);
    }

    #[test]
    fn quantiles_follow_ranks_and_ignore_bucket_order() {
        // 1..=100 days: the median is day 50, the 90th percentile day 90.
        let mut buckets: Vec<(u32, i64)> = (1..=100).map(|day| (bucket_of(f64::from(day) * 24.0), 1)).collect();
        buckets.reverse();
        let p50 = quantile(&buckets, 0.5).expect("p50") / 24.0;
        let p90 = quantile(&buckets, 0.9).expect("p90") / 24.0;
        assert!((p50 - 50.0).abs() < 0.6, "p50 {p50}");
        assert!((p90 - 90.0).abs() < 1.0, "p90 {p90}");
        assert_eq!(quantile(&[], 0.5), None);
        let (low, high) = quantile_interval(&buckets, 0.5).expect("interval");
        assert!(low / 24.0 < 45.0 && high / 24.0 > 55.0 && low < high, "{low}..{high}");
    }

    #[test]
    fn share_intervals_contain_the_share_and_narrow_with_n() {
        let (low, high) = share_interval(90, 100).expect("interval");
        assert!(low < 0.9 && high > 0.9, "{low}..{high}");
        let (low_big, high_big) = share_interval(9000, 10000).expect("interval");
        assert!(high_big - low_big < high - low);
        assert_eq!(share_interval(0, 0), None);
        let (low, high) = share_interval(0, 10).expect("interval");
        assert!(low == 0.0 && high > 0.0 && high < 0.35);
    }
}
