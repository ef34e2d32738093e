//! Shoppers' data rights (`testkit::privacy`) on the SQLite store, through the whole router.

use super::Harness;
use crate::testkit::isolation::RouterCaller;
use crate::testkit::privacy::{a_shoppers_data_is_exported_and_erased, personal_fields_of_finished_trackings_expire};

#[tokio::test]
async fn a_shoppers_data_is_exported_and_erased_on_sqlite() {
    let h = Harness::new().await;
    a_shoppers_data_is_exported_and_erased(&h.deps, &RouterCaller(h.router.clone())).await;
}

#[tokio::test]
async fn personal_fields_of_finished_trackings_expire_on_sqlite() {
    let h = Harness::new().await;
    personal_fields_of_finished_trackings_expire(&h.deps).await;
}
