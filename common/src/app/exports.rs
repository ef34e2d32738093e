//! Exports: a merchant's trackings as the history CSV's columns, newest first, so that the
//! file imports back as it was (`porchlight export trackings`, `GET
//! /porchlight/v1/exports/trackings`).

use std::io::Write;

use super::{AppError, Deps};
use crate::api::wire::history::{csv_header, csv_row};
use crate::domain::TenantId;
use crate::ports::{Cursor, ListQuery};

/// Trackings read from the store at once.
const PAGE: usize = 200;

/// Writes the header and then the tenant's trackings that pass `filters` (its page size and
/// cursor aside) from `cursor` on, at most `limit`, into `writer`: how many it wrote, and
/// where the next part starts when more follow.
pub async fn write_trackings_csv<W: Write>(
    deps: &Deps,
    tenant: &TenantId,
    filters: &ListQuery,
    mut cursor: Option<Cursor>,
    limit: usize,
    writer: &mut csv::Writer<W>,
) -> Result<(usize, Option<Cursor>), AppError> {
    let failed = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    writer.write_record(csv_header()).map_err(failed)?;
    let mut written = 0;
    while written < limit {
        let query = ListQuery { limit: PAGE.min(limit - written), cursor: cursor.take(), ..filters.clone() };
        let page = deps.shipments.list(tenant, &query).await?;
        for shipment in &page.shipments {
            writer.write_record(csv_row(shipment)).map_err(failed)?;
        }
        written += page.shipments.len();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((written, None)),
        }
    }
    Ok((written, cursor))
}
