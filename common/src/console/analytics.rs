//! Analytics: the merchant's numbers over a period and lanes, drawn as the report draws them
//! (server-rendered SVG charts, tables), with their CSVs and a report kept with a link.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{Console, Visitor, failure, message, page, see_other, value};
use crate::app::AppError;
use crate::app::analytics::{DayRange, LaneFilter};
use crate::app::reports;
use crate::domain::{Action, CountryCode, Slug};

/// The CSV files beside the charts.
const FILES: [&str; 6] =
    ["overview.csv", "carriers.csv", "exceptions.csv", "notifications.csv", "returns.csv", "carrier-health.csv"];

/// The charts' colour (the console's blue).
const COLOR: &str = "#1d4ed8";

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub(super) struct Filters {
    from: String,
    to: String,
    slug: String,
    origin: String,
    destination: String,
}

impl Filters {
    /// The period (the last 30 days by default) and the lanes, or why not.
    fn read(&self, today: chrono::NaiveDate) -> Result<(DayRange, LaneFilter), String> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let range = DayRange::parse(text(&self.from).as_deref(), text(&self.to).as_deref(), today)
            .map_err(|e| format!("{e}."))?;
        let mut lanes = LaneFilter::default();
        if let Some(slug) = text(&self.slug) {
            lanes.slugs = vec![Slug::parse(&slug).map_err(|_| "The carrier was not a carrier.".to_owned())?];
        }
        for (raw, into) in [(&self.origin, &mut lanes.origins), (&self.destination, &mut lanes.destinations)] {
            if let Some(code) = text(raw) {
                let code = CountryCode::from_carrier(&code)
                    .ok_or_else(|| "Countries are ISO codes such as US or DEU.".to_owned())?;
                *into = vec![code];
            }
        }
        Ok((range, lanes))
    }

    fn query_string(&self) -> String {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("slug", &self.slug),
            ("origin", &self.origin),
            ("destination", &self.destination),
        ];
        super::query_of(&pairs)
    }
}

fn filters_of(query: Result<Query<Filters>, QueryRejection>) -> Filters {
    query.map(|Query(f)| f).unwrap_or_default()
}

pub(super) async fn overview(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let filters = filters_of(query);
    let today = console.deps.clock.now().date_naive();
    let mut layout = visitor.layout("analytics");
    let (range, lanes, status) = match filters.read(today) {
        Ok((range, lanes)) => (range, lanes, StatusCode::OK),
        Err(problem) => {
            layout.problem = Some(problem);
            let (range, lanes) = Filters::default().read(today).expect("the default period reads");
            (range, lanes, StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    let tenant = &visitor.member.tenant_id;
    let (sections, _) = match reports::report_sections(&console.deps, tenant, range, &lanes, COLOR).await {
        Ok(made) => made,
        Err(error) => return failure(&error),
    };
    let quick: Vec<_> = [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last year")]
        .into_iter()
        .map(|(days, label)| {
            let from = today - chrono::Days::new(days - 1);
            minijinja::context! { label => label, href => format!("/console/analytics?from={from}&to={today}") }
        })
        .collect();
    let shown = Filters { from: range.from.to_string(), to: range.to.to_string(), ..filters };
    let filtered = lanes != LaneFilter::default();
    let content = minijinja::context! {
        from => range.from.to_string(), to => range.to.to_string(), filtered => filtered,
        query => shown.query_string(), filters => value(&shown), quick => quick, files => FILES,
        couriers => value(&super::shipments::couriers()),
        ..sections
    };
    page(status, "console/analytics.html", "Analytics", &layout, content)
}

pub(super) async fn csv(
    State(console): State<Console>,
    visitor: Visitor,
    Path(file): Path<String>,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let today = console.deps.clock.now().date_naive();
    let layout = visitor.layout("analytics");
    let Some(name) = FILES.iter().find(|f| **f == file) else {
        return message(StatusCode::NOT_FOUND, &layout, "No such file", "The address may be mistyped.", None);
    };
    let (range, lanes) = match filters_of(query).read(today) {
        Ok(read) => read,
        Err(problem) => return message(StatusCode::UNPROCESSABLE_ENTITY, &layout, "Not done", &problem, None),
    };
    let made = reports::report_sections(&console.deps, &visitor.member.tenant_id, range, &lanes, COLOR).await;
    let files = match made {
        Ok((_, files)) => files,
        Err(error) => return failure(&error),
    };
    let Some((_, bytes)) = files.into_iter().find(|(n, _)| n == name) else {
        return failure(&AppError::Internal(format!("the report has no {name}")));
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

pub(super) async fn keep_report(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let today = console.deps.clock.now().date_naive();
    let (range, _) = match filters_of(query).read(today) {
        Ok(read) => read,
        Err(problem) => {
            return message(StatusCode::UNPROCESSABLE_ENTITY, &visitor.layout("analytics"), "Not done", &problem, None);
        }
    };
    let tenant = &visitor.member.tenant_id;
    match reports::run_report(&console.deps, tenant, range).await {
        Ok(report) => {
            visitor.audit(&console.deps, "report.built", &report.id, "").await;
            see_other(&reports::link_path(&console.deps, tenant, &report.id))
        }
        Err(error) => failure(&error),
    }
}
