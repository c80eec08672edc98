//! The lab's explanations, each beside its plot: the formula plotted and what the theory
//! predicts, in MathML (rendered by the browser, as in the other views). Row-vector tokens,
//! layer ℓ, subspace k, N tokens, subspace dimension p, η the step size.

/// The data model.
pub const DATA: &str = r#"
<p>Each token belongs to one of <math><mi>K</mi></math> subspaces of dimension
<math><mi>p</mi></math> in <math><msup><mi>ℝ</mi><mi>d</mi></msup></math>, with known bases
<math><msub><mi>U</mi><mi>k</mi></msub></math>:</p>
<math display="block"><mrow>
  <mi>z</mi><mo>=</mo><msub><mi>U</mi><mi>k</mi></msub><mi>a</mi><mo>+</mo><mi>δ</mi>
  <munder><mo>∑</mo><mrow><mi>j</mi><mo>≠</mo><mi>k</mi></mrow></munder><msub><mi>U</mi><mi>j</mi></msub><msub><mi>e</mi><mi>j</mi></msub>
  <mo>+</mo><mi>σ</mi><mi>ε</mi><mo>,</mo><mspace width="0.6em"/>
  <mi>a</mi><mo>,</mo><msub><mi>e</mi><mi>j</mi></msub><mo>∼</mo><mi>𝒩</mi><mo>(</mo><mn>0</mn><mo>,</mo><msub><mi>I</mi><mi>p</mi></msub><mo>)</mo>
</mrow></math>
"#;

/// The SNR plot.
pub const SNR: &str = r#"
<p>Each layer applies the idealised MSSA step with the true bases (no learning):</p>
<math display="block"><mrow>
  <mi>Z</mi><mo>←</mo><mi>Z</mi><mo>+</mo><mi>η</mi><munder><mo>∑</mo><mi>k</mi></munder>
  <msub><mi>U</mi><mi>k</mi></msub><msubsup><mi>U</mi><mi>k</mi><mo>⊤</mo></msubsup><mi>Z</mi>
  <mi>φ</mi><mo>(</mo><msup><mrow><mo>(</mo><msubsup><mi>U</mi><mi>k</mi><mo>⊤</mo></msubsup><mi>Z</mi><mo>)</mo></mrow><mo>⊤</mo></msup>
  <mo>(</mo><msubsup><mi>U</mi><mi>k</mi><mo>⊤</mo></msubsup><mi>Z</mi><mo>)</mo><mo>)</mo>
</mrow></math>
<p>with φ a softmax over each token's similarities divided by <math><msqrt><mi>p</mi></msqrt></math>
(CRATE's MSSA), or a hard threshold: similarities below θ times the head's mean token energy are
zeroed and each token's row is rescaled to sum 1. The plot shows, per subspace,</p>
<math display="block"><mrow>
  <msub><mi>SNR</mi><mi>k</mi></msub><mo>=</mo>
  <mfrac><msub><mrow><mo>‖</mo><msub><mi>U</mi><mi>k</mi></msub><msubsup><mi>U</mi><mi>k</mi><mo>⊤</mo></msubsup><msub><mi>Z</mi><mi>k</mi></msub><mo>‖</mo></mrow><mi>F</mi></msub>
  <msub><mrow><mo>‖</mo><mo>(</mo><mi>I</mi><mo>−</mo><msub><mi>U</mi><mi>k</mi></msub><msubsup><mi>U</mi><mi>k</mi><mo>⊤</mo></msubsup><mo>)</mo><msub><mi>Z</mi><mi>k</mi></msub><mo>‖</mo></mrow><mi>F</mi></msub></mfrac>
</mrow></math>
<p><b>Prediction</b> (dashed): if each token matches only itself in its own subspace and nothing
elsewhere, one step multiplies its own-subspace part by <math><mn>1</mn><mo>+</mo><mi>η</mi></math>
and leaves the rest, so
<math><msub><mi>SNR</mi><mi>k</mi></msub><mo>(</mo><mi>ℓ</mi><mo>)</mo><mo>=</mo><msup><mrow><mo>(</mo><mn>1</mn><mo>+</mo><mi>η</mi><mo>)</mo></mrow><mi>ℓ</mi></msup><msub><mi>SNR</mi><mi>k</mi></msub><mo>(</mo><mn>0</mn><mo>)</mo></math>,
a straight line on this log scale. Matches between tokens, overlapping subspaces, heads that match
no subspace, or noise that passes the threshold bend the curves below it.</p>
"#;

/// The R^c plot.
pub const RC: &str = r#"
<p>The coding rate of the tokens against the true subspaces (CRATE-SPEC's measure, each token's
coordinates scaled to unit length, ε = 0.01):</p>
<math display="block"><mrow>
  <msup><mi>R</mi><mi>c</mi></msup><mo>(</mo><mi>Z</mi><mo>∣</mo><mi>U</mi><mo>)</mo><mo>=</mo>
  <munder><mo>∑</mo><mi>k</mi></munder><mfrac><mn>1</mn><mn>2</mn></mfrac><mi>log</mi><mi>det</mi>
  <mo>(</mo><mi>I</mi><mo>+</mo><mfrac><mi>p</mi><mrow><mi>N</mi><mi>ε</mi></mrow></mfrac>
  <msubsup><mi>X</mi><mi>k</mi><mo>⊤</mo></msubsup><msub><mi>X</mi><mi>k</mi></msub><mo>)</mo>
</mrow></math>
<p><b>Prediction</b>: MSSA is a gradient step that lowers it. Only the directions of the tokens
count, and the tokens of the other subspaces keep theirs in each head, so with well-separated
subspaces it falls slowly; when heads amplify noise it can fall fast for the wrong reason
(everything lines up with a few directions), so read it with the SNR.</p>
"#;

/// The sparsity plot.
pub const SPARSITY: &str = r#"
<p>With ISTA on, each MSSA step is followed by one proximal-gradient step of non-negative sparse
coding in a dictionary <math><mi>D</mi></math> (the identity, or the true bases with both signs):</p>
<math display="block"><mrow>
  <msub><mi>c</mi><mn>0</mn></msub><mo>=</mo><mi>ReLU</mi><mo>(</mo><msup><mi>D</mi><mo>⊤</mo></msup><mi>z</mi><mo>)</mo><mo>,</mo><mspace width="0.5em"/>
  <mi>c</mi><mo>=</mo><mi>ReLU</mi><mo>(</mo><msub><mi>c</mi><mn>0</mn></msub><mo>+</mo><mi>η</mi><msup><mi>D</mi><mo>⊤</mo></msup><mo>(</mo><mi>z</mi><mo>−</mo><mi>D</mi><msub><mi>c</mi><mn>0</mn></msub><mo>)</mo><mo>−</mo><mi>η</mi><mi>λ</mi><mo>)</mo><mo>,</mo><mspace width="0.5em"/>
  <mi>z</mi><mo>←</mo><mi>D</mi><mi>c</mi>
</mrow></math>
<p>(with <math><mi>D</mi><mo>=</mo><mi>I</mi></math> this is CRATE's
<math><mi>ReLU</mi><mo>(</mo><mi>z</mi><mo>−</mo><mi>η</mi><mi>λ</mi><mo>)</mo></math>).
The plot shows the fraction of non-zero code entries. <b>Prediction</b>: with the true bases
± each coefficient uses at most one of its two atoms, so at most half the entries are non-zero;
what lies outside the subspaces is dropped at once, and coefficients below ηλ (the other
subspaces' δ share, when λ is large enough) are cut, leaving about p of the 2Kp atoms,
1/(2K), per token.</p>
"#;

/// The scatter.
pub const SCATTER: &str = r#"
<p>The tokens' coordinates in one true subspace, <math><mi>Z</mi><msub><mi>U</mi><mi>f</mi></msub></math>
(the first two, or three for d = 3 in ℝ³ itself), layer by layer: press play to watch them move.
<b>Prediction</b>: the tokens of subspace f spread outward by (1 + η) per layer while the others stay
near the origin (their share in this subspace is only δ and the noise).</p>
"#;

/// The angles heatmap.
pub const ANGLES: &str = r#"
<p>The mean principal angle between the true subspaces: the singular values of
<math><msubsup><mi>U</mi><mi>i</mi><mo>⊤</mo></msubsup><msub><mi>U</mi><mi>j</mi></msub></math>
are the cosines <math><mi>cos</mi><msub><mi>θ</mi><mn>1</mn></msub><mo>≥</mo><mo>…</mo></math>.
90° everywhere off the diagonal means orthogonal subspaces, which the idealised step needs to keep
its heads apart; random ones overlap, and a head then moves the other subspaces' share too.</p>
"#;

/// The coding-length curve.
pub const CODING: &str = r#"
<p>Clustering by compression: points on two lines and a plane in ℝ³ with noise σ. The lossy coding
length (bits) of m points W, and of a segmentation into groups <math><msub><mi>W</mi><mi>j</mi></msub></math>:</p>
<math display="block"><mrow>
  <mi>L</mi><mo>(</mo><mi>W</mi><mo>)</mo><mo>=</mo><mfrac><mrow><mi>m</mi><mo>+</mo><mn>3</mn></mrow><mn>2</mn></mfrac>
  <msub><mi>log</mi><mn>2</mn></msub><mi>det</mi><mo>(</mo><mi>I</mi><mo>+</mo><mfrac><mn>3</mn><mrow><mi>m</mi><msup><mi>ε</mi><mn>2</mn></msup></mrow></mfrac>
  <msup><mi>W</mi><mo>⊤</mo></msup><mi>W</mi><mo>)</mo><mo>,</mo><mspace width="0.6em"/>
  <msup><mi>L</mi><mi>s</mi></msup><mo>=</mo><munder><mo>∑</mo><mi>j</mi></munder><mo>[</mo><mi>L</mi><mo>(</mo><msub><mi>W</mi><mi>j</mi></msub><mo>)</mo>
  <mo>−</mo><msub><mi>m</mi><mi>j</mi></msub><msub><mi>log</mi><mn>2</mn></msub><mfrac><msub><mi>m</mi><mi>j</mi></msub><mi>M</mi></mfrac><mo>]</mo>
</mrow></math>
<p>The best segmentation is searched greedily (merge the pair that saves the most bits, from one
group per point). <b>Prediction</b>: near ε ≈ σ the search finds the three groups and beats one
group; for ε far above σ one group is cheapest (the lazy regime: everything is "noise"); far
below σ every bit of noise is coded and the true grouping saves relatively little (memorising).</p>
"#;

/// The learned-CRATE part: what it trains, with which objective, and why.
pub const LEARNED: &str = r#"
<p>One click trains a small CRATE on this mixture in a Web Worker (labels = subspace; one layer,
K+1 heads of dimension p, 2000 steps) and measures it as it learns: each first-layer head
<math><msub><mi>U</mi><mi>k</mi></msub></math> is pulled back through the patch embedding into
ℝ<sup>d</sup>, matched to a true subspace by an optimal assignment, and the mean of the matched
pairs' principal angles is plotted over the steps.</p>
<p><b>The objective.</b> Cross-entropy alone does not make the heads find the subspaces: every
token of a sample comes from one subspace, so the class can be read off any token and the heads
stay near 60° from the truth. The learned CRATE therefore also minimises CRATE's own compression
term, made well posed by the labels (MCR²-style): head k codes the tokens of subspace k at a high
rate and the others' compactly,</p>
<math display="block"><mrow>
  <mi>L</mi><mo>=</mo><mi>CE</mi><mo>+</mo><mfrac><mn>1</mn><mi>K</mi></mfrac><munder><mo>∑</mo><mi>k</mi></munder>
  <mo>[</mo><mi>R</mi><mo>(</mo><msub><mi>U</mi><mi>k</mi></msub><msub><mi>Z</mi><mrow><mo>¬</mo><mi>k</mi></mrow></msub><mo>)</mo>
  <mo>−</mo><mi>R</mi><mo>(</mo><msub><mi>U</mi><mi>k</mi></msub><msub><mi>Z</mi><mi>k</mi></msub><mo>)</mo><mo>]</mo><mo>,</mo><mspace width="0.6em"/>
  <mi>R</mi><mo>(</mo><mi>X</mi><mo>)</mo><mo>=</mo><mfrac><mn>1</mn><mn>2</mn></mfrac><mi>log</mi><mi>det</mi><mo>(</mo><mi>I</mi><mo>+</mo>
  <mfrac><mi>p</mi><mrow><mi>n</mi><msup><mi>ε</mi><mn>2</mn></msup></mrow></mfrac><mi>X</mi><msup><mi>X</mi><mo>⊤</mo></msup><mo>)</mo>
</mrow></math>
<p>on the first layer's tokens (ε = 0.5, gradient through the embedding too). It is bounded (the
two terms grow alike with the scale of <math><msub><mi>U</mi><mi>k</mi></msub></math>) and its
minimiser spans the directions where subspace k has the most energy relative to the others: the
true subspace. The tokens also get 4 extra channels holding −(their sum)/4, so that the
embedding's LayerNorm, which removes each token's mean, loses nothing (without them no head can
come closer than 7.4° on the default preset). <b>Prediction</b>: the mean angle falls under 10°
within a few hundred steps (natively 6.3° after 2000); with cross-entropy alone
(<code>whitebox lab recover --plain</code>) it stays near 60°.</p>
"#;
