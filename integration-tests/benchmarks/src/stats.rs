//! Medians, spreads and percentiles of measured values.

use serde::{Deserialize, Serialize};

/// Several runs of one figure: the median and the spread (min, max) of the runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub runs: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// Summarises `runs` (NaN-free); an empty list gives zeros.
    pub fn of(runs: &[f64]) -> Self {
        let mut sorted = runs.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            runs: runs.to_vec(),
            median: percentile(&sorted, 50.0),
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }

    /// `median (min–max)` with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        format!("{:.digits$} ({:.digits$}–{:.digits$})", self.median, self.min, self.max)
    }
}

/// The `p`-th percentile (nearest rank, linear between neighbours) of already sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
            let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
            sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
        }
    }
}

/// p50 and p99 of unsorted values.
pub fn p50_p99(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (percentile(&sorted, 50.0), percentile(&sorted, 99.0))
}

/// Spearman's rank correlation of `values` with their positions (1: strictly increasing,
/// -1: strictly decreasing); ties get their mean rank.
pub fn rank_correlation(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 1.0;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        for k in i..=j {
            ranks[order[k]] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    let mean = (n - 1) as f64 / 2.0;
    let (mut cov, mut var_x, mut var_y) = (0.0, 0.0, 0.0);
    for (x, y) in ranks.iter().enumerate() {
        let (dx, dy) = (x as f64 - mean, y - mean);
        cov += dx * dy;
        var_x += dx * dx;
        var_y += dy * dy;
    }
    if var_y == 0.0 { 0.0 } else { cov / (var_x * var_y).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_correlation_is_one_in_order_minus_one_reversed() {
        assert!((rank_correlation(&[1.0, 2.0, 5.0, 9.0]) - 1.0).abs() < 1e-9);
        assert!((rank_correlation(&[9.0, 5.0, 2.0, 1.0]) + 1.0).abs() < 1e-9);
        let shuffled = rank_correlation(&[2.0, 1.0, 4.0, 3.0]);
        assert!(shuffled > 0.0 && shuffled < 1.0, "{shuffled}");
    }

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_value_and_the_spread_its_extremes() {
        let summary = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!((summary.median, summary.min, summary.max), (2.0, 1.0, 3.0));
        assert_eq!(summary.runs, [3.0, 1.0, 2.0]);
        assert_eq!(summary.show(1), "2.0 (1.0–3.0)");
    }

    #[test]
    fn percentiles_interpolate_between_neighbours() {
        let values: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(p50_p99(&values), (51.0, 100.0));
        assert_eq!(percentile(&[10.0, 20.0], 50.0), 15.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }
}
