//! Shared by the tract timing examples: one symbolic plan per file, and one
//! forward pass over a token sequence.

use tract_onnx::prelude::*;

/// Loads an ONNX file as one optimised plan over a symbolic sequence length.
pub fn load(path: &str) -> TractResult<Arc<TypedRunnableModel>> {
    let mut model = tract_onnx::onnx()
        .with_ignore_value_info(true)
        .with_ignore_output_shapes(true)
        .model_for_path(path)?;
    let s = model.sym("S");
    for i in 0..model.inputs.len() {
        model.set_input_fact(i, i64::fact([1.to_dim(), s.to_dim()]).into())?;
    }
    model.into_optimized()?.into_runnable()
}

/// Runs one sequence (batch 1, no padding) and returns the raw outputs.
pub fn run(plan: &Arc<TypedRunnableModel>, ids: &[i64]) -> TractResult<TVec<TValue>> {
    let s = ids.len();
    let model = plan.model();
    let inputs: TVec<TValue> = model
        .inputs
        .iter()
        .map(|o| {
            let a = match model.node(o.node).name.as_str() {
                "input_ids" => tract_ndarray::Array2::from_shape_vec((1, s), ids.to_vec())
                    .expect("shape matches length"),
                "attention_mask" => tract_ndarray::Array2::from_elem((1, s), 1i64),
                _ => tract_ndarray::Array2::from_elem((1, s), 0i64),
            };
            Tensor::from(a).into()
        })
        .collect();
    plan.run(inputs)
}

/// Token ids of slmd's bench queries.
pub fn bench_ids(tokenizer: &str) -> anyhow::Result<Vec<Vec<i64>>> {
    let mut tok =
        tokenizers::Tokenizer::from_file(tokenizer).map_err(|e| anyhow::anyhow!("{e}"))?;
    tok.with_padding(None);
    slmd::cli::bench::QUERIES
        .iter()
        .map(|q| {
            tok.encode(*q, true)
                .map(|e| e.get_ids().iter().map(|&i| i as i64).collect())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))
}
