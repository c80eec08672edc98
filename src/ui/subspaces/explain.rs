//! The Subspaces panels' explanations, each with the formula it plots in MathML (rendered by the
//! browser, as in the other views). Notation of CRATE-SPEC.md: row-vector tokens, layer ℓ, head
//! k, N tokens, head dimension p, K heads.

/// Panel 1: the tokens in head k's subspace.
pub const TOKENS: &str = r#"
<p>Every token's coordinates in head <math><mi>k</mi></math>'s subspace, through the layer's
norm and the head's basis <math><msub><mi>U</mi><mi>k</mi></msub></math>, before and after the
MSSA step (and, optionally, for the next layer's input, still through layer ℓ's subspace):</p>
<math display="block"><mrow>
  <msub><mi>x</mi><mi>i</mi></msub><mo>=</mo><msubsup><mi>U</mi><mi>k</mi><mi>⊤</mi></msubsup>
  <mi>LN</mi><mo>(</mo><msubsup><mi>z</mi><mi>i</mi><mi>ℓ</mi></msubsup><mo>)</mo><mo>,</mo><mspace width="0.6em"/>
  <msubsup><mi>U</mi><mi>k</mi><mi>⊤</mi></msubsup>
  <mi>LN</mi><mo>(</mo><msubsup><mi>z</mi><mi>i</mi><mrow><mi>ℓ</mi><mo>+</mo><mn>½</mn></mrow></msubsup><mo>)</mo>
</mrow></math>
<p>drawn on the top principal directions of the <em>before</em> set (PCA, same axes for all
panels, in the units of <math><mi>x</mi></math>). MSSA is a gradient step on the coding rate:
points drawing together mean the head compresses the tokens. The diamond is the CLS token.</p>
"#;

/// Panel 2: which head claims which patch.
pub const HEADS: &str = r#"
<p>How each token's energy splits over the heads' subspaces (normalised over heads, so each
patch's shares sum to 1):</p>
<math display="block"><mrow>
  <msub><mi>s</mi><mrow><mi>k</mi><mo>,</mo><mi>i</mi></mrow></msub><mo>=</mo>
  <mfrac>
    <msup><mrow><mo>‖</mo><msubsup><mi>U</mi><mi>k</mi><mi>⊤</mi></msubsup><msub><mi>a</mi><mi>i</mi></msub><mo>‖</mo></mrow><mn>2</mn></msup>
    <mrow><msub><mo>∑</mo><mi>j</mi></msub><msup><mrow><mo>‖</mo><msubsup><mi>U</mi><mi>j</mi><mi>⊤</mi></msubsup><msub><mi>a</mi><mi>i</mi></msub><mo>‖</mo></mrow><mn>2</mn></msup></mrow>
  </mfrac><mo>,</mo><mspace width="0.6em"/>
  <msub><mi>a</mi><mi>i</mi></msub><mo>=</mo><mi>LN</mi><mo>(</mo><msubsup><mi>z</mi><mi>i</mi><mi>ℓ</mi></msubsup><mo>)</mo>
</mrow></math>
<p>One map per head (share, 0 to 1), and the image coloured by the head with the largest share
(a multi-head overlay like DINO's).</p>
"#;

/// Panel 3: per-head compression.
pub const COMPRESSION: &str = r#"
<p>The coding rate is a sum over heads; each bar stacks the heads' terms, at the MSSA input
(left of each pair) and after the step (right):</p>
<math display="block"><mrow>
  <msup><mi>R</mi><mi>c</mi></msup><mo>=</mo><munderover><mo>∑</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>K</mi></munderover>
  <msubsup><mi>R</mi><mi>k</mi><mi>c</mi></msubsup><mo>,</mo><mspace width="0.6em"/>
  <msubsup><mi>R</mi><mi>k</mi><mi>c</mi></msubsup><mo>=</mo><mfrac><mn>1</mn><mn>2</mn></mfrac><mi>log</mi><mo>det</mo><mo>(</mo>
  <mi>I</mi><mo>+</mo><mfrac><mi>p</mi><mrow><mi>N</mi><mi>ε</mi></mrow></mfrac>
  <msubsup><mi>X</mi><mi>k</mi><mi>⊤</mi></msubsup><msub><mi>X</mi><mi>k</mi></msub><mo>)</mo>
</mrow></math>
<p>(<math><msub><mi>X</mi><mi>k</mi></msub></math>: the head's coordinates, each token's row normalised to
unit length, ε = 0.01, as in the Layers view; in nats). Each bar's total is the Layers view's
<math><msup><mi>R</mi><mi>c</mi></msup></math>.</p>
"#;

/// Panel 4: overlap of the subspaces.
pub const OVERLAP: &str = r#"
<p>How far apart the heads' subspaces are: with <math><msub><mi>Q</mi><mi>k</mi></msub></math>
an orthonormal basis of head <math><mi>k</mi></math>'s subspace,</p>
<math display="block"><mrow>
  <msub><mi>O</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>=</mo>
  <mfrac><msub><mrow><mo>‖</mo><msubsup><mi>Q</mi><mi>i</mi><mi>⊤</mi></msubsup><msub><mi>Q</mi><mi>j</mi></msub><mo>‖</mo></mrow><mi>F</mi></msub>
  <msqrt><mi>p</mi></msqrt></mfrac><mo>,</mo><mspace width="0.6em"/>
  <mi mathvariant="double-struck">E</mi><mo>[</mo><msup><mi>O</mi><mn>2</mn></msup><mo>]</mo><mo>=</mo><mfrac><mi>p</mi><mi>d</mi></mfrac>
  <mtext>&#160;for random subspaces</mtext>
</mrow></math>
<p>(1 on the diagonal, 0 for orthogonal subspaces; the root mean square of the cosines of the
principal angles). The tick on the colour bar is the random value
<math><msqrt><mrow><mi>p</mi><mo>/</mo><mi>d</mi></mrow></msqrt></math>; incoherent heads sit
below it. Right: the singular values of <math><mo>[</mo><msub><mi>U</mi><mn>1</mn></msub><mo>…</mo><msub><mi>U</mi><mi>K</mi></msub><mo>]</mo></math>
(all equal for orthonormal, mutually orthogonal bases).</p>
"#;

/// Panel 5: sparse codes.
pub const CODES: &str = r#"
<p>The ISTA output <math><msup><mi>Z</mi><mrow><mi>ℓ</mi><mo>+</mo><mn>1</mn></mrow></msup></math>
is a sparse code of the tokens against the dictionary <math><mi>D</mi></math>: column
<math><mi>j</mi></math> of <math><mi>D</mi></math> is atom <math><mi>j</mi></math>, entry
<math><msub><mi>z</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub></math> how much token
<math><mi>i</mi></math> uses it.</p>
<math display="block"><mrow>
  <msub><mi>n</mi><mi>i</mi></msub><mo>=</mo><mo>#</mo><mo>{</mo><mi>j</mi><mo>:</mo><msub><mi>z</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>≠</mo><mn>0</mn><mo>}</mo><mo>,</mo><mspace width="0.6em"/>
  <msub><mi>u</mi><mi>j</mi></msub><mo>=</mo><mo>#</mo><mo>{</mo><mi>i</mi><mo>:</mo><msub><mi>z</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>≠</mo><mn>0</mn><mo>}</mo>
</mrow></math>
<p>The histogram counts the non-zero activations (the zeros are given apart); the map shows
<math><msub><mi>n</mi><mi>i</mi></msub></math> per patch; the bars show each atom's
<math><msub><mi>u</mi><mi>j</mi></msub></math>, most used first. Click a bar to see that atom's
activation <math><msub><mi>z</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub></math> over the image.</p>
"#;

/// Panel 6: spectra.
pub const SPECTRA: &str = r#"
<p>The singular values of all the image's tokens <math><msup><mi>Z</mi><mi>ℓ</mi></msup></math>
(N × d) at each layer, divided by the largest, on a log scale:</p>
<math display="block"><mrow>
  <msub><mi>σ</mi><mi>r</mi></msub><mo>(</mo><msup><mi>Z</mi><mi>ℓ</mi></msup><mo>)</mo><mo>/</mo>
  <msub><mi>σ</mi><mn>1</mn></msub><mo>(</mo><msup><mi>Z</mi><mi>ℓ</mi></msup><mo>)</mo>
</mrow></math>
<p>A spectrum that falls fast means the tokens lie near a low-dimensional subspace. CRATE's
claim is that the representations move toward a <em>union</em> of low-dimensional subspaces:
right, each head's projection <math><msubsup><mi>U</mi><mi>k</mi><mi>⊤</mi></msubsup><mi>LN</mi><mo>(</mo><msup><mi>Z</mi><mi>ℓ</mi></msup><mo>)</mo></math>
at the chosen layer against the tokens' own.</p>
"#;

/// Panel 7: batch mode.
pub const BATCH: &str = r#"
<p>The same projection over every gallery image at once: the principal axes are fitted on all
images' tokens together, points are coloured by the image's class. Below, each class's tokens
(all its images stacked) have their own spectrum
<math><msub><mi>σ</mi><mi>r</mi></msub><mo>/</mo><msub><mi>σ</mi><mn>1</mn></msub></math>
at the chosen layer's input and at the last layer's output.</p>
"#;
