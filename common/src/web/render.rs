//! Rendering: the one template engine (minijinja, HTML autoescaping by file name), the
//! page's style sheet, the merchant's colours made readable, and the Content-Security-Policy
//! that allows exactly this page's two style blocks and nothing that runs.

use std::sync::OnceLock;

use base64::Engine as _;
use minijinja::{Environment, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::i18n::Catalog;
use super::view::Shell;
use crate::domain::TrackingPage;

/// The templates, compiled in.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("lookup.html", include_str!("templates/lookup.html")),
    ("order_form.html", include_str!("templates/order_form.html")),
    ("message.html", include_str!("templates/message.html")),
    ("parcels.html", include_str!("templates/parcels.html")),
    ("unsubscribe.html", include_str!("templates/unsubscribe.html")),
    ("returns_lookup.html", include_str!("templates/returns_lookup.html")),
    ("returns_form.html", include_str!("templates/returns_form.html")),
    ("returns_done.html", include_str!("templates/returns_done.html")),
    ("email.html", include_str!("templates/email.html")),
    ("email.txt", include_str!("templates/email.txt")),
    ("report.html", include_str!("templates/report.html")),
    ("report_sections.html", include_str!("templates/report_sections.html")),
];

/// The style sheet every page inlines.
const CSS: &str = include_str!("templates/page.css");

struct Templates {
    env: Environment<'static>,
    /// The style sheet, made a template value once (cloning it shares it).
    css: Value,
    css_source: String,
}

fn engine() -> &'static Templates {
    static ENGINE: OnceLock<Templates> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES.iter().chain(crate::console::TEMPLATES) {
            env.add_template(name, source).expect("templates are checked by tests");
        }
        Templates { env, css: Value::from_safe_string(CSS.to_owned()), css_source: csp_source(CSS) }
    })
}

/// `'sha256-…'`: the CSP source that allows one inline block with exactly `text`.
fn csp_source(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// A rendered page and the policy it needs.
pub struct Rendered {
    /// The document.
    pub html: String,
    /// Its `Content-Security-Policy`: no scripts at all, styles only from its own blocks,
    /// images from `https:` (the merchant's), forms only to this site.
    pub csp: String,
}

/// Renders `template` with the shell, the catalog's messages and `content`'s fields.
pub fn render(
    template: &str,
    shell: &Shell,
    page: &TrackingPage,
    catalog: &Catalog,
    content: impl Serialize,
) -> Result<Rendered, minijinja::Error> {
    let engine = engine();
    let theme = theme(page);
    let context = minijinja::context! {
        shell => Value::from(minijinja::value::Serde(shell)),
        msg => catalog.messages.clone(),
        css => engine.css.clone(),
        theme => Value::from_safe_string(theme.clone()),
        ..Value::from(minijinja::value::Serde(&content))
    };
    let html = engine.env.get_template(template)?.render(context)?;
    let csp = format!(
        "default-src 'none'; style-src {} {}; img-src https:; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'",
        engine.css_source,
        csp_source(&theme)
    );
    Ok(Rendered { html, csp })
}

/// A merchant's colours made readable: the primary colour as it is, with black or white text
/// on it (whichever contrasts more: at least 4.58:1 for any colour); the accent, used for
/// links and focus on white, darkened until it reaches 4.5:1 there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    /// `#rrggbb`, as the merchant chose it.
    pub primary: String,
    /// `#ffffff` or `#000000`.
    pub on_primary: &'static str,
    /// `#rrggbb`, readable on white.
    pub accent: String,
}

impl Palette {
    /// The palette of `page`.
    pub fn of(page: &TrackingPage) -> Palette {
        let primary = rgb(&page.primary_color);
        let white_wins = contrast(primary, [255, 255, 255]) >= contrast(primary, [0, 0, 0]);
        let mut accent = rgb(&page.accent_color);
        while contrast(accent, [255, 255, 255]) < 4.5 {
            accent = accent.map(|c| (f64::from(c) * 0.9) as u8);
        }
        Palette {
            primary: page.primary_color.clone(),
            on_primary: if white_wins { "#ffffff" } else { "#000000" },
            accent: format!("#{:02x}{:02x}{:02x}", accent[0], accent[1], accent[2]),
        }
    }
}

/// The merchant's palette as CSS variables.
fn theme(page: &TrackingPage) -> String {
    let palette = Palette::of(page);
    format!(":root{{--primary:{};--on-primary:{};--accent:{}}}", palette.primary, palette.on_primary, palette.accent)
}

/// Renders one of the documents beside the pages (`email.html`, `email.txt`) with `context`;
/// `.html` templates escape HTML, `.txt` ones write text as it is.
pub fn render_document(template: &str, context: Value) -> Result<String, minijinja::Error> {
    engine().env.get_template(template)?.render(context)
}

/// `#rrggbb` as bytes (validated settings only reach here; anything else reads as black).
pub fn rgb(hex: &str) -> [u8; 3] {
    let channel = |i: usize| hex.get(1 + 2 * i..3 + 2 * i).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
    [channel(0), channel(1), channel(2)]
}

/// WCAG 2.1's relative luminance.
fn luminance(color: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * linear(color[0]) + 0.7152 * linear(color[1]) + 0.0722 * linear(color[2])
}

/// WCAG 2.1's contrast ratio, 1 to 21.
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_colours_always_yield_readable_text() {
        for primary in ["#ffff00", "#777777", "#1d4ed8", "#000000", "#ffffff", "#00ff00"] {
            for accent in ["#ffff00", "#a3e635", "#0f766e", "#ffffff"] {
                let mut page = TrackingPage::default_for("Acme", "acme".into());
                page.primary_color = primary.into();
                page.accent_color = accent.into();
                let theme = theme(&page);
                let on_primary = if theme.contains("--on-primary:#ffffff") { [255, 255, 255] } else { [0, 0, 0] };
                assert!(contrast(rgb(primary), on_primary) >= 4.5, "{primary}");
                let accent_out = theme.rsplit("--accent:").next().expect("accent").trim_end_matches('}');
                assert!(contrast(rgb(accent_out), [255, 255, 255]) >= 4.5, "{accent} -> {accent_out}");
            }
        }
    }

    #[test]
    fn the_policy_allows_exactly_the_inlined_styles() {
        let page = TrackingPage::default_for("Acme", "acme".into());
        let catalog = Catalog::of(crate::domain::Language::En);
        let shell = Shell::new(&page, catalog, "Track".into(), Vec::new());
        let rendered =
            render("message.html", &shell, &page, catalog, minijinja::context! { heading => "h", body => "b" })
                .expect("rendered");
        assert!(rendered.html.contains(&format!("<style>{CSS}</style>")));
        assert!(rendered.csp.contains(&csp_source(CSS)) && rendered.csp.contains(&csp_source(&theme(&page))));
        assert!(!rendered.csp.contains("unsafe") && !rendered.csp.contains("script-src"));
    }
}
