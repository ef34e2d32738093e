//! Adapters: implementations of the ports. Only adapters know storage shapes.

#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "http")]
pub mod http_client;

#[cfg(feature = "aws")]
pub mod dynamodb;

#[cfg(feature = "aws")]
pub mod sqs;
