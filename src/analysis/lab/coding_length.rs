//! Clustering by coding length (Ma, Derksen, Hong & Wright, "Segmentation of multivariate mixed
//! data via lossy data coding and compression", 2007), the simplest form of the MCR² idea.
//!
//! - Lossy coding length of m points W (rows, in ℝ^D), uncentred (the subspaces pass through
//!   the origin), in bits: `L(W) = (m + D)/2 · log₂ det(I_D + D/(m ε²) WᵀW)`.
//! - A segmentation into groups W_1 … W_J of M points costs
//!   `L^s = Σ_j [ L(W_j) − m_j log₂(m_j / M) ]` (the second term codes each point's membership).
//! - Search: the paper's greedy pairwise merging. Start from one group per point; repeatedly
//!   merge the pair (i < j, in the current order) whose merge lowers L^s the most (strictly; ties
//!   to the first pair in (i, j) order), the merged group taking i's place and j removed; stop
//!   when no merge lowers it.
//! - The curve: for each ε of a log grid, the greedy segmentation's L^s and number of groups,
//!   beside L^s of one group for everything and of the true segmentation.

use serde::Serialize;

use crate::analysis::linalg::logdet_spd;

/// The ε grid: `10^(−3 + 4 i / (EPS_STEPS − 1))`, i = 0 … EPS_STEPS − 1 (10⁻³ … 10).
pub const EPS_STEPS: usize = 25;

pub fn eps_grid() -> Vec<f64> {
    (0..EPS_STEPS)
        .map(|i| 10f64.powf(-3.0 + 4.0 * i as f64 / (EPS_STEPS - 1) as f64))
        .collect()
}

/// `L(W)` from the Gram `WᵀW` (D, D) of m points.
pub fn coding_length(gram: &[f64], m: usize, dim: usize, eps: f64) -> f64 {
    let c = dim as f64 / (m as f64 * eps * eps);
    let mut a: Vec<f64> = gram.iter().map(|g| c * g).collect();
    for i in 0..dim {
        a[i * dim + i] += 1.0;
    }
    (m + dim) as f64 / 2.0 * logdet_spd(a, dim).unwrap_or(f64::NAN) / std::f64::consts::LN_2
}

fn outer(x: &[f64]) -> Vec<f64> {
    x.iter()
        .flat_map(|a| x.iter().map(move |b| a * b))
        .collect()
}

#[derive(Clone)]
struct Group {
    gram: Vec<f64>,
    m: usize,
}

fn group_cost(g: &Group, total: usize, dim: usize, eps: f64) -> f64 {
    coding_length(&g.gram, g.m, dim, eps) - g.m as f64 * (g.m as f64 / total as f64).log2()
}

fn merged(a: &Group, b: &Group) -> Group {
    Group {
        gram: a.gram.iter().zip(&b.gram).map(|(x, y)| x + y).collect(),
        m: a.m + b.m,
    }
}

/// L^s of the segmentation `labels` of `points` (M, D).
pub fn segmentation_length(points: &[f64], dim: usize, labels: &[usize], eps: f64) -> f64 {
    let groups = labels.iter().max().map_or(0, |m| m + 1);
    let mut gs = vec![
        Group {
            gram: vec![0.0; dim * dim],
            m: 0
        };
        groups
    ];
    for (x, &l) in points.chunks_exact(dim).zip(labels) {
        let o = outer(x);
        gs[l].gram.iter_mut().zip(o).for_each(|(g, v)| *g += v);
        gs[l].m += 1;
    }
    gs.iter()
        .filter(|g| g.m > 0)
        .map(|g| group_cost(g, labels.len(), dim, eps))
        .sum()
}

/// The greedy segmentation: a label per point (groups numbered by their first point) and L^s.
// The pair table is indexed by two group positions that shift as groups merge.
#[allow(clippy::needless_range_loop)]
pub fn greedy_segmentation(points: &[f64], dim: usize, eps: f64) -> (Vec<usize>, f64) {
    let total = points.len() / dim;
    let mut groups: Vec<Group> = points
        .chunks_exact(dim)
        .map(|x| Group {
            gram: outer(x),
            m: 1,
        })
        .collect();
    let mut members: Vec<Vec<usize>> = (0..total).map(|i| vec![i]).collect();
    let mut cost: Vec<f64> = groups
        .iter()
        .map(|g| group_cost(g, total, dim, eps))
        .collect();
    // gain[i][j] (i < j): L^s change of merging groups i and j.
    let pair = |groups: &[Group], cost: &[f64], i: usize, j: usize| {
        group_cost(&merged(&groups[i], &groups[j]), total, dim, eps) - cost[i] - cost[j]
    };
    let mut gain: Vec<Vec<f64>> = (0..total)
        .map(|i| {
            (0..total)
                .map(|j| {
                    if j > i {
                        pair(&groups, &cost, i, j)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    loop {
        let mut best: Option<(f64, usize, usize)> = None;
        for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                let g = gain[i][j];
                if g < 0.0 && best.is_none_or(|(b, _, _)| g < b) {
                    best = Some((g, i, j));
                }
            }
        }
        let Some((_, i, j)) = best else { break };
        groups[i] = merged(&groups[i], &groups[j]);
        groups.remove(j);
        let mj = members.remove(j);
        members[i].extend(mj);
        cost[i] = group_cost(&groups[i], total, dim, eps);
        cost.remove(j);
        gain.remove(j);
        for row in gain.iter_mut() {
            row.remove(j);
        }
        for o in 0..groups.len() {
            if o < i {
                gain[o][i] = pair(&groups, &cost, o, i);
            } else if o > i {
                gain[i][o] = pair(&groups, &cost, i, o);
            }
        }
    }
    let mut labels = vec![0usize; total];
    let mut order: Vec<&Vec<usize>> = members.iter().collect();
    order.sort_by_key(|m| m.iter().min().copied());
    for (g, m) in order.iter().enumerate() {
        for &t in m.iter() {
            labels[t] = g;
        }
    }
    (labels, cost.iter().sum())
}

/// The coding-length curve over the ε grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CodingCurve {
    pub eps: Vec<f64>,
    /// L^s of the greedy segmentation.
    pub greedy: Vec<f64>,
    /// Its number of groups.
    pub groups: Vec<usize>,
    /// L^s of one group holding every point ("lazy").
    pub one_group: Vec<f64>,
    /// L^s of the true segmentation.
    pub truth: Vec<f64>,
    /// The points' true noise σ (the plot marks it).
    pub noise: f64,
}

/// One ε of the curve: (greedy L^s, its groups, one group's L^s, the truth's L^s).
pub fn curve_point(
    points: &[f64],
    dim: usize,
    labels: &[usize],
    eps: f64,
) -> (f64, usize, f64, f64) {
    let (l, s) = greedy_segmentation(points, dim, eps);
    let one = vec![0usize; labels.len()];
    (
        s,
        l.iter().max().map_or(0, |m| m + 1),
        segmentation_length(points, dim, &one, eps),
        segmentation_length(points, dim, labels, eps),
    )
}

impl CodingCurve {
    pub fn empty(noise: f64) -> Self {
        Self {
            eps: Vec::new(),
            greedy: Vec::new(),
            groups: Vec::new(),
            one_group: Vec::new(),
            truth: Vec::new(),
            noise,
        }
    }

    /// Adds the point at `eps`.
    pub fn push(&mut self, points: &[f64], dim: usize, labels: &[usize], eps: f64) {
        let (g, n, o, t) = curve_point(points, dim, labels, eps);
        self.eps.push(eps);
        self.greedy.push(g);
        self.groups.push(n);
        self.one_group.push(o);
        self.truth.push(t);
    }
}

/// The whole curve over [`eps_grid`].
pub fn coding_curve(points: &[f64], dim: usize, labels: &[usize], noise: f64) -> CodingCurve {
    let mut c = CodingCurve::empty(noise);
    for e in eps_grid() {
        c.push(points, dim, labels, e);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coding_length_of_one_point() {
        // m = 1, D = 3: 2 log2(1 + 3 |x|^2 / eps^2).
        let g = outer(&[1.0, 2.0, 2.0]);
        let l = coding_length(&g, 1, 3, 0.5);
        assert!(
            (l - 2.0 * (1.0f64 + 3.0 * 9.0 / 0.25).log2()).abs() < 1e-12,
            "{l}"
        );
    }

    #[test]
    fn greedy_separates_two_clean_lines_and_lumps_at_large_eps() {
        let mut pts = Vec::new();
        for i in 1..=10 {
            let a = i as f64 * 0.3 * if i % 2 == 0 { 1.0 } else { -1.0 };
            pts.extend([a, 0.0, 0.0]);
            pts.extend([0.0, a, 0.0]);
        }
        let (l, s) = greedy_segmentation(&pts, 3, 1e-3);
        let truth: Vec<usize> = (0..20).map(|t| t % 2).collect();
        assert_eq!(l, truth);
        assert!((s - segmentation_length(&pts, 3, &truth, 1e-3)).abs() < 1e-9);
        let (l, _) = greedy_segmentation(&pts, 3, 100.0);
        assert!(l.iter().all(|&g| g == 0));
    }
}
