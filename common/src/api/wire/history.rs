//! History files: JSON lines of trackings exactly as `GET /tracking/2026-07/trackings` answers
//! them (checkpoints included, so a merchant can page through AfterShip's API and bring
//! everything), or a CSV of tracking numbers with order fields.
//!
//! Each line is read on its own: a line that does not read gives a [`LineError`] naming the
//! line and field, and the next line is read all the same.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::TrackingWrite;
use crate::app::imports::{HistoryRecord, LineError};
use crate::app::{AppError, NewTracking, courier_of};
pub use crate::domain::imports::HistoryFormat;
use crate::domain::{CheckpointInput, CheckpointSource, CountryCode, EventTime, Money, OrderItem, Subtag, Tag};

/// The numbered lines of `file`, read as `format` (the reader import jobs are given).
pub fn history_lines(
    format: HistoryFormat,
    file: &[u8],
) -> Box<dyn Iterator<Item = (u64, Result<HistoryRecord, LineError>)> + Send + '_> {
    Box::new(HistoryReader::new(format, file))
}

/// A history file read line by line: each item is a line's number and its tracking, or why it
/// could not be read.
pub struct HistoryReader<R: Read> {
    source: Source<R>,
    bytes_read: Arc<AtomicU64>,
}

enum Source<R: Read> {
    Json { reader: BufReader<R>, line: u64, buffer: String },
    Csv { reader: csv::Reader<R>, columns: Vec<Column>, header_error: Option<LineError>, record: csv::StringRecord },
}

impl<R: Read> HistoryReader<R> {
    /// Reads `input` as `format`.
    pub fn new(format: HistoryFormat, input: R) -> HistoryReader<R> {
        let source = match format {
            HistoryFormat::JsonLines => {
                Source::Json { reader: BufReader::with_capacity(1 << 16, input), line: 0, buffer: String::new() }
            }
            HistoryFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
                let (columns, header_error) = match reader.headers() {
                    Ok(headers) => (headers.iter().map(Column::of).collect(), None),
                    Err(error) => {
                        (Vec::new(), Some(LineError { line: 1, field: String::new(), reason: csv_reason(&error) }))
                    }
                };
                Source::Csv { reader, columns, header_error, record: csv::StringRecord::new() }
            }
        };
        HistoryReader { source, bytes_read: Arc::default() }
    }

    /// How many bytes of the input have been read so far: the progress through a file, to be
    /// watched while the reader is being iterated.
    pub fn bytes_read(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes_read)
    }
}

impl<R: Read> Iterator for HistoryReader<R> {
    type Item = (u64, Result<HistoryRecord, LineError>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Json { reader, line, buffer } => loop {
                buffer.clear();
                *line += 1;
                let read = match reader.read_line(buffer) {
                    Ok(0) => return None,
                    Ok(read) => read,
                    Err(error) => {
                        // Not UTF-8: the line is lost, the next one is read.
                        let error = LineError { line: *line, field: String::new(), reason: error.to_string() };
                        reader.skip_until(b'\n').ok()?;
                        return Some((error.line, Err(error)));
                    }
                };
                self.bytes_read.fetch_add(read as u64, Ordering::Relaxed);
                if buffer.trim().is_empty() {
                    continue;
                }
                return Some((
                    *line,
                    json_record(buffer).map_err(|(field, reason)| LineError { line: *line, field, reason }),
                ));
            },
            Source::Csv { reader, columns, header_error, record } => {
                if let Some(error) = header_error.take() {
                    return Some((1, Err(error)));
                }
                if columns.is_empty() {
                    return None;
                }
                loop {
                    let line = reader.position().line() + 1;
                    let result = reader.read_record(record);
                    self.bytes_read.store(reader.position().byte(), Ordering::Relaxed);
                    match result {
                        Ok(false) => return None,
                        Ok(true) if record.iter().all(str::is_empty) => continue,
                        Ok(true) => {
                            let line = record.position().map_or(line, |p| p.line());
                            let read = csv_record(columns, record).map_err(|(field, reason)| LineError {
                                line,
                                field,
                                reason,
                            });
                            return Some((line, read));
                        }
                        Err(error) => {
                            return Some((
                                line,
                                Err(LineError { line, field: String::new(), reason: csv_reason(&error) }),
                            ));
                        }
                    }
                }
            }
        }
    }
}

fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_owned(),
        _ => format!("is not CSV: {error}"),
    }
}

/// A line's fault: the field (empty for the whole line) and the reason.
type Fault = (String, String);

fn fault_of(error: &AppError) -> Fault {
    let LineError { field, reason, .. } = crate::app::imports::line_error(0, error);
    (field, reason)
}

/// A checkpoint as AfterShip's `Checkpoint` model writes it (2026-07 names, with the older
/// `zip` for the postal code).
#[derive(Debug, Default, Deserialize)]
struct CheckpointRecord {
    slug: Option<String>,
    checkpoint_time: Option<String>,
    message: Option<String>,
    tag: Option<String>,
    subtag: Option<String>,
    raw_tag: Option<String>,
    location: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    zip: Option<String>,
    country_region: Option<String>,
}

/// What a tracking line has besides the fields of [`TrackingWrite`].
#[derive(Debug, Deserialize)]
struct HistoryExtras {
    created_at: Option<String>,
    checkpoints: Option<Vec<CheckpointRecord>>,
}

/// Reads `line` as `T`, ignoring fields `T` does not have; faults name the field's path.
fn typed<'a, T: Deserialize<'a>>(line: &'a str) -> Result<T, Fault> {
    let mut reader = serde_json::Deserializer::from_str(line);
    serde_path_to_error::deserialize(&mut reader).map_err(|error| {
        let path = error.path().to_string();
        let reason = error.into_inner();
        if reason.is_syntax() || reason.is_eof() {
            return (String::new(), format!("is not JSON: {reason}"));
        }
        (if path == "." { String::new() } else { path }, reason.to_string())
    })
}

/// A tracking line read in two passes over the text, each into typed fields (no tree of
/// values in between: the fields a pass does not want are skipped).
fn json_record(line: &str) -> Result<HistoryRecord, Fault> {
    if !line.trim_start().starts_with('{') {
        return Err((String::new(), "must be a JSON object: one tracking".to_owned()));
    }
    let mut write: TrackingWrite = typed(line)?;
    let extras: HistoryExtras = typed(line)?;
    // AfterShip writes an empty `last_mile` object on trackings that have none.
    if write.last_mile.as_ref().is_some_and(|leg| leg.tracking_number.as_deref().is_none_or(|n| n.trim().is_empty())) {
        write.last_mile = None;
    }
    let created_at = extras.created_at.as_deref().map(|text| instant("created_at", text)).transpose()?;
    let mut tracking = write.into_new_tracking().map_err(|e| fault_of(&e))?;
    complete(&mut tracking, created_at, extras.checkpoints.unwrap_or_default())
}

fn instant(field: &str, text: &str) -> Result<DateTime<Utc>, Fault> {
    EventTime::parse(text)
        .map(|t| t.instant())
        .map_err(|_| (field.to_owned(), "must be an ISO 8601 date-time".to_owned()))
}

/// The record of `tracking` with its courier settled (detected when absent, so that its
/// checkpoints know their leg) and its checkpoints read.
fn complete(
    tracking: &mut NewTracking,
    created_at: Option<DateTime<Utc>>,
    records: Vec<CheckpointRecord>,
) -> Result<HistoryRecord, Fault> {
    let slug = courier_of(tracking.slug.clone(), &tracking.tracking_number).map_err(|e| fault_of(&e))?;
    tracking.slug = Some(slug.clone());
    let mut events = Vec::with_capacity(records.len());
    for (i, record) in records.into_iter().enumerate() {
        let field = |name: &str| format!("checkpoints[{i}].{name}");
        let time = record.checkpoint_time.as_deref().filter(|t| !t.trim().is_empty());
        let time = time.ok_or_else(|| (field("checkpoint_time"), "is required".to_owned()))?;
        let checkpoint_time = EventTime::parse(time).map_err(|e| (field("checkpoint_time"), e.reason))?;
        let subtag = match (&record.subtag, &record.tag) {
            (Some(code), _) => Subtag::parse(code).map_err(|e| (field("subtag"), e.reason))?,
            (None, Some(tag)) => Tag::parse(tag).map_err(|e| (field("tag"), e.reason))?.default_subtag(),
            (None, None) => return Err((field("subtag"), "is required (or tag)".to_owned())),
        };
        // The leg: the last mile's when the checkpoint names its courier, else the first.
        let leg = tracking
            .last_mile
            .as_ref()
            .filter(|leg| record.slug.as_deref() == Some(leg.slug.as_str()) && leg.slug != slug)
            .map_or((&slug, &tracking.tracking_number), |leg| (&leg.slug, &leg.tracking_number));
        let mut input = CheckpointInput::new(
            leg.0.clone(),
            leg.1.clone(),
            checkpoint_time,
            subtag,
            record.message.unwrap_or_default(),
            CheckpointSource::Carrier,
        );
        input.raw_tag = record.raw_tag;
        input.location = record.location;
        input.city = record.city;
        input.state = record.state;
        input.postal_code = record.postal_code.or(record.zip);
        input.country_region = record.country_region.as_deref().and_then(CountryCode::from_carrier);
        events.push(input);
    }
    Ok(HistoryRecord { tracking: tracking.clone(), created_at, events, order_line: None })
}

/// What a CSV column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// A field of the tracking, by its API name.
    Field(&'static str),
    /// A country field, alpha-2 or alpha-3.
    Country(&'static str),
    /// The buyer's name, email or phone.
    Customer(&'static str),
    /// Tags separated by `;` or `,`.
    Tags,
    /// The promised delivery date.
    Promised,
    /// When it was created at the source.
    CreatedAt,
    /// A field of the row's order line: `id`, `sku`, `title`, `variant_title`, `quantity`,
    /// `price`.
    Item(&'static str),
    /// The currency of the line's price.
    Currency,
    /// A column Porchlight does not read.
    Ignored,
}

/// The columns a history CSV may have, with the names common exports give them.
const CSV_COLUMNS: &[(&[&str], Column)] = &[
    (&["tracking_number", "tracking number", "tracking_no", "tracking no"], Column::Field("tracking_number")),
    (&["slug", "courier", "carrier", "courier_slug"], Column::Field("slug")),
    (&["title"], Column::Field("title")),
    (&["order_id", "order id"], Column::Field("order_id")),
    (&["order_number", "order number", "order_name", "name"], Column::Field("order_number")),
    (&["order_date", "order date"], Column::Field("order_date")),
    (&["shipping_method", "shipping method"], Column::Field("shipping_method")),
    (&["shipment_type", "shipment type", "service_type", "service"], Column::Field("shipment_type")),
    (&["language"], Column::Field("language")),
    (&["note"], Column::Field("note")),
    (
        &["origin_country_region", "origin_country", "origin country", "origin"],
        Column::Country("origin_country_region"),
    ),
    (&["origin_state"], Column::Field("origin_state")),
    (&["origin_city"], Column::Field("origin_city")),
    (&["origin_postal_code"], Column::Field("origin_postal_code")),
    (
        &[
            "destination_country_region",
            "destination_country",
            "destination country",
            "destination",
            "shipping country",
        ],
        Column::Country("destination_country_region"),
    ),
    (&["destination_state", "shipping province"], Column::Field("destination_state")),
    (&["destination_city", "shipping city"], Column::Field("destination_city")),
    (
        &["destination_postal_code", "destination postal code", "shipping zip", "postal_code", "zip"],
        Column::Field("destination_postal_code"),
    ),
    (&["customer_name", "customer name", "shipping name"], Column::Customer("name")),
    (&["email", "customer_email", "customer email"], Column::Customer("email")),
    (&["phone", "phone_number", "customer_phone_number", "shipping phone"], Column::Customer("phone_number")),
    (&["shipment_tags", "tags"], Column::Tags),
    (&["order_promised_delivery_date", "promised_delivery_date"], Column::Promised),
    (&["created_at", "created at"], Column::CreatedAt),
    (&["item_id", "lineitem id"], Column::Item("id")),
    (&["item_sku", "lineitem sku", "sku"], Column::Item("sku")),
    (&["item_title", "lineitem name", "product_title", "product title"], Column::Item("title")),
    (&["item_variant_title", "lineitem variant", "variant_title"], Column::Item("variant_title")),
    (&["item_quantity", "lineitem quantity", "quantity"], Column::Item("quantity")),
    (&["item_price", "lineitem price", "price"], Column::Item("price")),
    (&["currency"], Column::Currency),
];

/// The CSV columns a history file may have, by their Porchlight names (the documentation's list).
pub fn csv_column_names() -> impl Iterator<Item = &'static str> {
    CSV_COLUMNS.iter().map(|(names, _)| names[0])
}

impl Column {
    fn of(header: &str) -> Column {
        let header = header.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
        CSV_COLUMNS
            .iter()
            .find(|(names, _)| names.contains(&header.as_str()))
            .map_or(Column::Ignored, |(_, column)| column.clone())
    }
}

fn csv_record(columns: &[Column], record: &csv::StringRecord) -> Result<HistoryRecord, Fault> {
    let mut fields = Map::new();
    let mut customer = Map::new();
    let mut item: Vec<(&'static str, &str)> = Vec::new();
    let mut currency = None;
    let mut created_at = None;
    for (column, cell) in columns.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        match column {
            // A courier's name ("Royal Mail", as exports write it) stands for its slug.
            Column::Field("slug") => {
                let slug = crate::couriers::slug_for_name(cell).unwrap_or(cell);
                fields.insert("slug".to_owned(), Value::from(slug));
            }
            Column::Field(name) => {
                fields.insert((*name).to_owned(), Value::from(cell));
            }
            Column::Country(name) => {
                let code = CountryCode::from_carrier(cell).ok_or_else(|| {
                    ((*name).to_owned(), format!("{cell:?} is not an ISO 3166-1 alpha-2 or alpha-3 code"))
                })?;
                fields.insert((*name).to_owned(), Value::from(code.as_str()));
            }
            Column::Customer(name) => {
                customer.insert((*name).to_owned(), Value::from(cell));
            }
            Column::Tags => {
                let tags: Vec<Value> =
                    cell.split([';', ',']).map(str::trim).filter(|t| !t.is_empty()).map(Value::from).collect();
                fields.insert("shipment_tags".to_owned(), Value::Array(tags));
            }
            Column::Promised => {
                fields.insert(
                    "order_promised_delivery_date".to_owned(),
                    serde_json::json!({ "promised_delivery_date": cell }),
                );
            }
            Column::CreatedAt => created_at = Some(instant("created_at", cell)?),
            Column::Item(field) => item.push((field, cell)),
            Column::Currency => currency = Some(cell),
            Column::Ignored => {}
        }
    }
    if !customer.is_empty() {
        customer.insert("role".to_owned(), Value::from("buyer"));
        fields.insert("customers".to_owned(), Value::Array(vec![Value::Object(customer)]));
    }
    let write: TrackingWrite = serde_path_to_error::deserialize(Value::Object(fields))
        .map_err(|e| (e.path().to_string(), e.inner().to_string()))?;
    let mut tracking = write.into_new_tracking().map_err(|e| fault_of(&e))?;
    let order_line = if item.is_empty() { None } else { Some(order_line(&tracking, &item, currency)?) };
    let mut record = complete(&mut tracking, created_at, Vec::new())?;
    record.order_line = order_line;
    Ok(record)
}

/// The order line a row's item columns describe: a title and a price (with its currency) at
/// least, its order named by the row's `order_id` or `order_number`. Without an `item_id`, the
/// line is known by its SKU, else its title, so that a file imported again replaces it.
fn order_line(tracking: &NewTracking, item: &[(&str, &str)], currency: Option<&str>) -> Result<OrderItem, Fault> {
    let field = |name: &str| item.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
    let required = |name: &str, column: &str| {
        field(name).ok_or_else(|| (column.to_owned(), "is required with item columns".to_owned()))
    };
    if tracking.details.order_id.is_none() && tracking.details.order_number.is_none() {
        return Err(("order_id".into(), "is required with item columns (or order_number)".into()));
    }
    let title = required("title", "item_title")?;
    let amount = required("price", "item_price")?;
    let currency = currency.ok_or_else(|| ("currency".to_owned(), "is required with item_price".to_owned()))?;
    let unit_price = Money { amount, currency: currency.to_ascii_uppercase() };
    unit_price.validate("item_price").map_err(|e| (e.field, e.reason))?;
    let quantity = match field("quantity") {
        Some(q) => q
            .parse::<u32>()
            .ok()
            .filter(|q| *q >= 1)
            .ok_or_else(|| ("item_quantity".to_owned(), format!("{q:?} is not a whole number of at least 1")))?,
        None => 1,
    };
    let sku = field("sku");
    let external_id =
        field("id").or_else(|| sku.as_ref().map(|s| format!("sku:{s}"))).unwrap_or_else(|| format!("title:{title}"));
    Ok(OrderItem {
        external_id,
        sku,
        title,
        variant_title: field("variant_title"),
        quantity,
        unit_price,
        discount: None,
        tax: None,
        tags: Vec::new(),
        categories: Vec::new(),
        image_url: None,
    })
}

mod export;

pub use export::{csv_header, csv_row};

#[cfg(test)]
mod tests;
