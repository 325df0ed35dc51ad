//! The on-device knowledge base: approved procedures (`kb/procedures/*.md`)
//! and the index of their embeddings that the daemon searches.

mod doc;
mod index;

pub use doc::{load_dir, DocError, Procedure};
pub use index::{Hit, Index, IndexError, FORMAT as INDEX_FORMAT, MAGIC as INDEX_MAGIC};
