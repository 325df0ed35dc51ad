//! The committed int8 model in tract against ONNX Runtime's reference
//! vectors for the same file and the same token ids.

mod common;

use slmd::engine::{cosine, Engine};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    token_ids: Vec<Vec<u32>>,
    vectors: Vec<Vec<f32>>,
    fp32_vectors: Vec<Vec<f32>>,
    /// ONNX Runtime's head logits per sentence, by head name.
    #[serde(default)]
    logits: Vec<std::collections::BTreeMap<String, Vec<f32>>>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(common::model_dir().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn tract_embeddings_match_onnx_runtime_reference_vectors() {
    let engine = Engine::load(&common::model_dir()).expect("bundled model loads");
    let r = reference();
    assert!(r.sentences.len() >= 10);
    let mut worst = 1.0f32;
    for ((sentence, ids), want) in r.sentences.iter().zip(&r.token_ids).zip(&r.vectors) {
        let (got_ids, _) = engine.tokenize(sentence).unwrap();
        assert_eq!(&got_ids, ids, "tokenizer disagrees on {sentence:?}");
        let got = engine.embed(sentence).unwrap().vector;
        assert_eq!(got.len(), 384);
        let c = cosine(&got, want);
        worst = worst.min(c);
        assert!(c >= 0.999, "cosine {c} < 0.999 for {sentence:?}");
    }
    eprintln!("worst cosine tract vs onnxruntime: {worst:.6}");
}

#[test]
fn int8_embeddings_stay_close_to_fp32() {
    let engine = Engine::load(&common::model_dir()).unwrap();
    let r = reference();
    for (sentence, want) in r.sentences.iter().zip(&r.fp32_vectors) {
        let got = engine.embed(sentence).unwrap().vector;
        let c = cosine(&got, want);
        assert!(c >= 0.98, "int8 vs fp32 cosine {c} for {sentence:?}");
    }
}

#[test]
fn long_text_is_truncated_to_the_model_window() {
    let engine = Engine::load(&common::model_dir()).unwrap();
    let long = "pump vibration high ".repeat(200);
    let e = engine.embed(&long).unwrap();
    assert!(e.truncated);
    assert_eq!(e.tokens, engine.manifest().max_seq_len);
}

#[test]
fn tract_head_logits_match_onnx_runtime_reference_logits() {
    let engine = Engine::load(&common::model_dir()).unwrap();
    let heads = &engine.manifest().heads;
    assert_eq!(heads.len(), 3, "the bundled model carries the triage heads");
    let r = reference();
    assert_eq!(r.logits.len(), r.sentences.len());
    let mut worst = 0f32;
    for (sentence, want) in r.sentences.iter().zip(&r.logits) {
        let got = engine.embed(sentence).unwrap().heads;
        for (head, out) in heads.iter().zip(&got) {
            let want = &want[&head.name];
            assert_eq!(out.logits.len(), want.len(), "{}", head.name);
            for (g, w) in out.logits.iter().zip(want) {
                worst = worst.max((g - w).abs());
                assert!(
                    (g - w).abs() <= 0.15,
                    "{} logit {g} vs {w} for {sentence:?}",
                    head.name
                );
            }
            // Same label unless ONNX Runtime itself saw a near-tie.
            let top = |v: &[f32]| {
                let mut ix: Vec<usize> = (0..v.len()).collect();
                ix.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
                ix
            };
            let (g, w) = (top(&out.logits), top(want));
            if w.len() > 1 && want[w[0]] - want[w[1]] > 0.15 {
                assert_eq!(g[0], w[0], "{} argmax for {sentence:?}", head.name);
            }
            let sum: f32 = out.probs.iter().sum();
            assert!((sum - 1.0).abs() < 1e-4, "probabilities sum to {sum}");
        }
    }
    eprintln!("largest head-logit difference tract vs onnxruntime: {worst:.4}");
}
