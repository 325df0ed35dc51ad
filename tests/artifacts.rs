//! Corrupt, mismatched and stale artifacts give clear errors naming the file.

mod common;

use slmd::engine::{Engine, EngineError};
use slmd::kb::{self, Index, IndexError};

#[test]
fn a_flipped_byte_in_the_model_is_caught_by_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_model(dir.path());
    let path = dir.path().join("model.onnx");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&path, bytes).unwrap();
    let err = Engine::load(dir.path()).unwrap_err();
    assert!(matches!(err, EngineError::HashMismatch { .. }), "{err}");
    assert!(err.to_string().contains("model.onnx"), "{err}");
}

#[test]
fn a_truncated_model_with_a_matching_hash_fails_to_load_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_model(dir.path());
    let path = dir.path().join("model.onnx");
    let bytes = std::fs::read(&path).unwrap();
    // Cut short but re-signed, so only the parser can notice.
    common::replace_model(dir.path(), &bytes[..bytes.len() / 3]);
    let err = Engine::load(dir.path()).unwrap_err();
    assert!(matches!(err, EngineError::Model { .. }), "{err}");
    assert!(err.to_string().contains("model.onnx"), "{err}");
}

#[test]
fn a_missing_tokenizer_is_named() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_model(dir.path());
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let err = Engine::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
}

#[test]
fn a_broken_manifest_is_named() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_model(dir.path());
    std::fs::write(dir.path().join("manifest.toml"), "name = 3\n").unwrap();
    let err = Engine::load(dir.path()).unwrap_err();
    assert!(matches!(err, EngineError::Manifest { .. }), "{err}");
    assert!(err.to_string().contains("manifest.toml"), "{err}");
}

#[test]
fn a_manifest_naming_a_missing_head_output_or_two_embeddings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_model(dir.path());
    let path = dir.path().join("manifest.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        manifest.replace("output = \"urgency_logits\"", "output = \"urgency_scores\""),
    )
    .unwrap();
    let err = Engine::load(dir.path()).unwrap_err();
    assert!(matches!(err, EngineError::Model { .. }), "{err}");
    assert!(err.to_string().contains("urgency_scores"), "{err}");

    let two = manifest.replace("[outputs]\n", "[outputs]\nhidden = \"last_hidden_state\"\n");
    std::fs::write(&path, two).unwrap();
    let err = Engine::load(dir.path()).unwrap_err();
    assert!(matches!(err, EngineError::Manifest { .. }), "{err}");
    assert!(err.to_string().contains("exactly one"), "{err}");
}

#[test]
fn heads_without_the_taxonomy_labels_are_refused_by_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_model(dir.path());
    let path = dir.path().join("manifest.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, manifest.replace("\"hvac\"", "\"heating\"")).unwrap();
    let cfg = slmd::config::Config::default_config();
    let err = slmd::pipeline::Pipeline::load(dir.path(), &common::kb_index(), &cfg).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("head category has no label \"hvac\""), "{msg}");
}

#[test]
fn an_index_built_by_another_model_is_refused() {
    let other = "0".repeat(64);
    let err = Index::load(&common::kb_index(), &other).unwrap_err();
    assert!(matches!(err, IndexError::ModelMismatch { .. }), "{err}");
    assert!(err.to_string().contains("slmd kb build"), "{err}");
}

#[test]
fn a_corrupt_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.slmkb");
    let mut bytes = std::fs::read(common::kb_index()).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let sha = common::pipeline().engine().model_sha256().to_string();
    let err = Index::load(&path, &sha).unwrap_err();
    assert!(matches!(err, IndexError::Corrupt { .. }), "{err}");
    std::fs::write(&path, b"not an index").unwrap();
    assert!(matches!(
        Index::load(&path, &sha),
        Err(IndexError::Corrupt { .. })
    ));
    // An index of the older format (procedures without `hazards`) is
    // refused by its version byte, before its payload is decoded.
    let mut old = std::fs::read(common::kb_index()).unwrap();
    old[7] = 1;
    std::fs::write(&path, &old).unwrap();
    let err = Index::load(&path, &sha).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, IndexError::Corrupt { .. })
            && msg.contains("format 1")
            && msg.contains("slmd kb build"),
        "{msg}"
    );
}

#[test]
fn the_committed_index_is_current_with_the_procedures() {
    let docs = kb::load_dir(&common::root().join("kb/procedures")).unwrap();
    assert!(docs.len() >= 30, "{} procedures", docs.len());
    let p = common::pipeline();
    let index = p.index();
    let indexed = index.docs();
    assert_eq!(docs.len(), indexed.len(), "run `slmd kb build`");
    for d in &docs {
        assert!(
            indexed
                .iter()
                .any(|i| i.id == d.id && i.source_sha256 == d.source_sha256),
            "{} changed since the index was built: run `slmd kb build`",
            d.id
        );
    }
}

#[test]
fn the_knowledge_base_covers_every_category() {
    let docs = kb::load_dir(&common::root().join("kb/procedures")).unwrap();
    for c in slmd::labels::Category::ALL {
        assert!(
            docs.iter().any(|d| d.category == *c),
            "no procedure for {c}"
        );
    }
}

#[test]
fn every_hazard_the_rules_name_has_a_procedure_written_for_it() {
    let docs = kb::load_dir(&common::root().join("kb/procedures")).unwrap();
    for h in slmd::labels::Hazard::ALL {
        assert!(
            docs.iter()
                .any(|d| d.hazards.contains(h) && !d.immediate_actions.is_empty()),
            "no procedure lists hazard {h}: its safety steps would be generic"
        );
    }
}
