//! Tools for trying and testing doorman, not part of the gateway's request path: the
//! embedded demo (`doorman demo`), the echo upstream that reports what it received, and
//! token minting (`doorman token mint|keygen`, test tokens).

pub mod demo;
pub mod echo;
pub mod mint;
