//! The command line's verbs, one file each.

pub mod couriers;
pub mod quarantine;
pub mod serve;
pub mod tenants;
pub mod tracking_page;
