//! Charts drawn on the server as SVG: no script, readable without styles, each with a title
//! and a text alternative for screen readers, and every value written beside its bar.

use std::fmt::Write as _;

/// One bar: its label, its value, and an optional second value drawn lighter behind it (a
/// 90th percentile behind a median), all in the chart's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What the bar stands for.
    pub label: String,
    /// Its length.
    pub value: f64,
    /// A longer value drawn behind it, if any.
    pub behind: Option<f64>,
}

/// A horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart<'a> {
    /// The chart's title (its accessible name).
    pub title: &'a str,
    /// How values are written (`{}` is the value): `"{} days"`, `"{} %"`.
    pub unit: &'a str,
    /// Decimals to write values with.
    pub decimals: usize,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
    /// The bars' colour (a CSS colour).
    pub color: &'a str,
}

const WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 230.0;
const VALUE_WIDTH: f64 = 110.0;
const ROW: f64 = 26.0;
const BAR: f64 = 16.0;

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

impl BarChart<'_> {
    fn written(&self, value: f64) -> String {
        self.unit.replace("{}", &format!("{value:.*}", self.decimals))
    }

    /// The chart as an `<svg>` element (its texts escaped).
    pub fn svg(&self) -> String {
        let height = ROW * self.bars.len().max(1) as f64 + 8.0;
        let longest = self.bars.iter().map(|b| b.value.max(b.behind.unwrap_or(0.0))).fold(0.0_f64, f64::max);
        let scale = if longest > 0.0 { (WIDTH - LABEL_WIDTH - VALUE_WIDTH) / longest } else { 0.0 };
        let summary: Vec<String> = self
            .bars
            .iter()
            .map(|b| match b.behind {
                Some(behind) => format!("{}: {} ({})", b.label, self.written(b.value), self.written(behind)),
                None => format!("{}: {}", b.label, self.written(b.value)),
            })
            .collect();
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{}"><title>{}</title><desc>{}</desc>"#,
            escape(self.title),
            escape(self.title),
            escape(&summary.join("; "))
        );
        for (i, bar) in self.bars.iter().enumerate() {
            let y = 4.0 + ROW * i as f64;
            let mid = y + ROW / 2.0;
            let _ = write!(
                svg,
                r##"<text x="{:.0}" y="{mid:.1}" text-anchor="end" dominant-baseline="middle" font-size="13" fill="#1f2328">{}</text>"##,
                LABEL_WIDTH - 8.0,
                escape(&bar.label)
            );
            let top = y + (ROW - BAR) / 2.0;
            if let Some(behind) = bar.behind {
                let _ = write!(
                    svg,
                    r#"<rect x="{LABEL_WIDTH}" y="{top:.1}" width="{:.1}" height="{BAR}" fill="{}" fill-opacity="0.3"/>"#,
                    behind * scale,
                    self.color
                );
            }
            let _ = write!(
                svg,
                r#"<rect x="{LABEL_WIDTH}" y="{top:.1}" width="{:.1}" height="{BAR}" fill="{}"/>"#,
                bar.value * scale,
                self.color
            );
            let end = LABEL_WIDTH + bar.value.max(bar.behind.unwrap_or(0.0)) * scale + 6.0;
            let text = match bar.behind {
                Some(behind) => format!("{} · {}", self.written(bar.value), self.written(behind)),
                None => self.written(bar.value),
            };
            let _ = write!(
                svg,
                r##"<text x="{end:.1}" y="{mid:.1}" dominant-baseline="middle" font-size="12" fill="#1f2328">{}</text>"##,
                escape(&text)
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_longest_and_texts_are_escaped() {
        let chart = BarChart {
            title: "Transit <days>",
            unit: "{} d",
            decimals: 1,
            bars: vec![
                Bar { label: "ups USA→USA".into(), value: 2.0, behind: Some(4.0) },
                Bar { label: "a & b".into(), value: 1.0, behind: None },
            ],
            color: "#2f6f4e",
        };
        let svg = chart.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Transit &lt;days&gt;</title>"));
        assert!(svg.contains("a &amp; b"));
        assert!(svg.contains("2.0 d · 4.0 d"));
        // The longest value (4 days, behind the first bar) spans the plot: 300 units.
        assert!(svg.contains(r#"width="300.0""#), "{svg}");
        assert!(svg.contains(r#"width="75.0""#), "the one-day bar is a quarter of it: {svg}");
    }
}
