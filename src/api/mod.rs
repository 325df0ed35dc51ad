//! The local socket API: wire types ([`proto`]), framing ([`codec`]), the
//! daemon side ([`server`]) and a client ([`client`]). See
//! `docs/protocol.md` for the bytes.

pub mod client;
pub mod codec;
pub mod proto;
pub mod server;
