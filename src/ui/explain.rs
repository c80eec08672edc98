//! Explanations beside each view, for a student: what the layers compute and what the measures
//! mean, with formulas in MathML (rendered by the browser, no script needed).

use leptos::prelude::*;

/// The attention view: MSSA as a compression step, and what the maps show.
const ATTENTION: &str = r#"
<h3>What MSSA computes</h3>
<p>Each CRATE layer takes one step to optimise the <em>sparse rate reduction</em>. Its attention
block, <strong>multi-head subspace self-attention</strong> (MSSA), is a gradient step that
<em>compresses</em> the tokens onto <math><mi>K</mi></math> low-dimensional subspaces, one per
head, with bases <math><msub><mi>U</mi><mi>k</mi></msub></math>:</p>
<math display="block"><mrow>
  <msub><mi>w</mi><mi>k</mi></msub><mo>=</mo><msubsup><mi>U</mi><mi>k</mi><mi>⊤</mi></msubsup><mi>Z</mi>
</mrow></math>
<math display="block"><mrow>
  <msub><mi>A</mi><mi>k</mi></msub><mo>=</mo><mi>softmax</mi><mo>(</mo>
  <msubsup><mi>w</mi><mi>k</mi><mi>⊤</mi></msubsup><msub><mi>w</mi><mi>k</mi></msub><mo>/</mo><msqrt><msub><mi>d</mi><mi>h</mi></msub></msqrt><mo>)</mo>
</mrow></math>
<math display="block"><mrow>
  <msup><mi>Z</mi><mrow><mi>ℓ</mi><mo>+</mo><mn>½</mn></mrow></msup><mo>=</mo><msup><mi>Z</mi><mi>ℓ</mi></msup><mo>+</mo>
  <mi>W</mi><mo>[</mo><msub><mi>w</mi><mn>1</mn></msub><msub><mi>A</mi><mn>1</mn></msub><mo>,</mo><mo>…</mo><mo>,</mo>
  <msub><mi>w</mi><mi>K</mi></msub><msub><mi>A</mi><mi>K</mi></msub><mo>]</mo>
</mrow></math>
<p>Unlike a ViT there are no separate queries, keys and values: one projection
<math><msub><mi>w</mi><mi>k</mi></msub></math> plays all three roles, so the scores are symmetric.
Tokens that lie close together in subspace <math><mi>k</mi></math> pull each other closer.</p>
<h3>Reading the maps</h3>
<p>Each map is the row of <math><msub><mi>A</mi><mi>k</mi></msub></math> for the CLS token: how
much each patch contributes to the CLS token in head <math><mi>k</mi></math>. Without any
segmentation labels, the heads of CRATE trained on ImageNet come to attend to whole objects (Yu et
al., "Emergence of Segmentation with Minimalistic White-Box Transformers"); those of the bundled
shapes model, whose one-colour shapes carry their class in their edges, trace each shape's
outline (layers 5–8 most clearly); those of the tiles model, whose objects carry their class in
a pattern every patch of them shows, fill the whole object (draw one with a patterned brush). The
mask keeps the fewest
patches that hold the chosen share of the attention (DINO's mass threshold). The PCA map colours
each patch by the first three principal components of its ISTA output: patches of one part share
a colour.</p>
"#;

/// The layers view: the coding rate, ISTA, sparsity.
const LAYERS: &str = r#"
<h3>Compression: the coding rate</h3>
<p>How many bits it takes to code the tokens within each head's subspace, up to a precision
<math><mi>ε</mi></math> (0.01, as in the official analysis code), summed over heads:
<math><mi>N</mi></math> tokens, head dimension <math><mi>p</mi></math>, each token's projection
normalised to unit length:</p>
<math display="block"><mrow>
  <msup><mi>R</mi><mi>c</mi></msup><mo>(</mo><mi>Z</mi><mo>)</mo><mo>=</mo>
  <munderover><mo>∑</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>K</mi></munderover>
  <mfrac><mn>1</mn><mn>2</mn></mfrac><mi>log</mi><mo>det</mo><mo>(</mo><mi>I</mi><mo>+</mo>
  <mfrac><mi>p</mi><mrow><mi>N</mi><mi>ε</mi></mrow></mfrac>
  <msup><mrow><mo>(</mo><msubsup><mi>U</mi><mi>k</mi><mi>⊤</mi></msubsup><mi>Z</mi><mo>)</mo></mrow><mi>⊤</mi></msup>
  <mo>(</mo><msubsup><mi>U</mi><mi>k</mi><mi>⊤</mi></msubsup><mi>Z</mi><mo>)</mo><mo>)</mo>
</mrow></math>
<p>MSSA is a gradient step that lowers it: the chart compares
<math><msup><mi>R</mi><mi>c</mi></msup></math> at the MSSA input with the value after the step
(both through the same layer's norm and subspaces). Lower means more compressed.</p>
<h3>Sparsification: ISTA</h3>
<p>The MLP block is one step of ISTA, a proximal gradient step of sparse coding against a
learned dictionary <math><mi>D</mi></math>:</p>
<math display="block"><mrow>
  <msup><mi>Z</mi><mrow><mi>ℓ</mi><mo>+</mo><mn>1</mn></mrow></msup><mo>=</mo><mi>ReLU</mi><mo>(</mo>
  <mi>Y</mi><mo>+</mo><mi>η</mi><msup><mi>D</mi><mi>⊤</mi></msup><mo>(</mo><mi>Y</mi><mo>−</mo><mi>D</mi><mi>Y</mi><mo>)</mo>
  <mo>−</mo><mi>η</mi><mi>λ</mi><mo>)</mo>
</mrow></math>
<math display="block"><mrow>
  <mi>Y</mi><mo>=</mo><mi>LN</mi><mo>(</mo><msup><mi>Z</mi><mrow><mi>ℓ</mi><mo>+</mo><mn>½</mn></mrow></msup><mo>)</mo>
</mrow></math>
<p>The ReLU sets small coefficients to exactly zero. The <em>non-zero fraction</em> is the share
of entries of <math><msup><mi>Z</mi><mrow><mi>ℓ</mi><mo>+</mo><mn>1</mn></mrow></msup></math>
that are not zero: lower is sparser. The heatmap shows it directly, one row per token (CLS at the
top), one column per channel; pale cells are exact zeros.</p>
"#;

/// The model view: the white-box idea.
const MODEL: &str = r#"
<h3>A white-box transformer</h3>
<p>CRATE (Yu et al., NeurIPS 2023) is built so that every layer is one step of optimising a
known objective, the sparse rate reduction:</p>
<math display="block"><mrow>
  <munder><mi>max</mi><mi>f</mi></munder><mspace width="0.3em"/>
  <mi>R</mi><mo>(</mo><mi>Z</mi><mo>)</mo><mo>−</mo><msup><mi>R</mi><mi>c</mi></msup><mo>(</mo><mi>Z</mi><mo>;</mo><mi>U</mi><mo>)</mo>
  <mo>−</mo><mi>λ</mi><msub><mrow><mo>‖</mo><mi>Z</mi><mo>‖</mo></mrow><mn>0</mn></msub>
</mrow></math>
<p>Attention (MSSA) takes the compression step on
<math><msup><mi>R</mi><mi>c</mi></msup></math>; the MLP (ISTA) takes the sparsification step.
So the subspaces <math><msub><mi>U</mi><mi>k</mi></msub></math> and the dictionary
<math><mi>D</mi></math> are the whole of what a layer learns, and the measures in the other views
say how well each layer does its job.</p>
<p>Models in the official PyTorch format (<code>.pth</code>, <code>.pth.tar</code>) and in
safetensors load here and run in this page only: nothing is uploaded anywhere.</p>
"#;

#[component]
pub fn Explain(#[prop(into)] which: &'static str) -> impl IntoView {
    let html = match which {
        "layers" => LAYERS,
        "model" => MODEL,
        _ => ATTENTION,
    };
    view! { <aside class="explain" inner_html=html></aside> }
}
