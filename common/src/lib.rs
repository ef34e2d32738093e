#![warn(missing_docs)]
//! Porchlight's one domain crate: domain types and rules, ports, use cases, the
//! AfterShip-compatible HTTP API and the embedded adapters.
//!
//! Both runtimes link this crate: `porchlight serve` (SQLite, one process) and the Lambda
//! functions. Nothing here reads the environment; binaries build a [`app::Deps`] and pass it in.

pub mod adapters;
pub mod api;
pub mod app;
pub mod carriers;
pub mod console;
pub mod couriers;
pub mod demo;
pub mod domain;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod notify;
pub mod ports;
pub mod secrets;
pub mod settings;
pub mod storefronts;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod web;
