//! The embedded adapters: implementations of the ports for `porchlight serve`. Only adapters
//! know storage shapes. The AWS adapters (DynamoDB, its stream, SQS) live in the
//! `porchlight-aws` crate, the only one that knows AWS shapes.

#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "http")]
pub mod http_client;

pub mod blobs;
pub mod outbox;
#[cfg(feature = "smtp")]
pub mod smtp;
pub mod stored_format;
