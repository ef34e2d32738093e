//! Merchants' own wording of a trigger's message in a language: the subject, headline, body and
//! SMS, each a small template over the message's facts, used in place of the built-in texts
//! (the branded layout, links and unsubscribe footer stay Porchlight's).
//!
//! Templates are a small part of Jinja, run in a sandboxed minijinja environment: values
//! (`{{ name }}`), the filters in [`FILTERS`], and `{% if %}` / `{% elif %}` / `{% else %}`;
//! no loops, no `set`, macros or includes, no `*`, `+` or `~` operators. What a template writes
//! is therefore at most a few times its own length and costs bounded work (a fuel limit stops
//! the rest), however a merchant writes it: one merchant's wording cannot stall the notifier
//! every merchant shares. Undefined names are errors; at most [`MAX_TEXT`] characters each. A
//! template that does not parse, uses anything else, names an unknown value or fails on the
//! sample facts is refused when saved, with the field, line and reason: never at send time.

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value, context, filters};
use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, Language, Trigger};

/// The most characters a template may have.
pub const MAX_TEXT: usize = 2_000;
/// The values a template may use.
pub const VARIABLES: [&str; 8] =
    ["brand", "name", "order", "title", "tracking_number", "carrier", "tracking_url", "estimated_delivery_date"];

/// A merchant's wording for one trigger in one language. An absent field keeps the built-in
/// text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTexts {
    /// The trigger.
    pub trigger: Trigger,
    /// The language.
    pub language: Language,
    /// The email's subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The email's headline.
    #[serde(default)]
    pub headline: Option<String>,
    /// The email's main paragraph.
    #[serde(default)]
    pub body: Option<String>,
    /// The SMS (link included, if wanted).
    #[serde(default)]
    pub sms: Option<String>,
}

/// The facts a template is rendered with.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// The merchant's name.
    pub brand: &'a str,
    /// The recipient's name, if known.
    pub name: Option<&'a str>,
    /// The order number, else the tracking number.
    pub order: &'a str,
    /// The order's title, if any.
    pub title: Option<&'a str>,
    /// The tracking number.
    pub tracking_number: &'a str,
    /// The carrier's name, unless masked.
    pub carrier: Option<&'a str>,
    /// The shipment's tracking page.
    pub tracking_url: &'a str,
    /// Its estimated delivery date, written in the message's language (for the estimated
    /// delivery triggers, the date missed or the new date), if it has one.
    pub estimated_delivery_date: Option<&'a str>,
}

/// The filters a template may use: none of them makes its input longer.
pub const FILTERS: [&str; 8] = ["upper", "lower", "title", "capitalize", "trim", "default", "d", "length"];

/// The statements a template may use.
const STATEMENTS: [&str; 4] = ["if", "elif", "else", "endif"];

/// Instructions one render may run: far above what any allowed template of [`MAX_TEXT`]
/// characters needs.
const FUEL: u64 = 20_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.add_filter("default", filters::default);
    env.add_filter("d", filters::default);
    env.add_filter("length", filters::length);
    env.add_test("defined", minijinja::tests::is_defined);
    env.add_test("undefined", minijinja::tests::is_undefined);
    env.add_test("none", minijinja::tests::is_none);
    env
}

/// Refuses what the template language leaves out (see the module documentation): statements
/// other than [`STATEMENTS`] and the `*`, `+` and `~` operators, outside string literals.
/// Filters are not looked at here: the environment has only [`FILTERS`].
fn check_constructs(template: &str) -> Result<(), Error> {
    let refuse = |what: String| Err(Error::new(ErrorKind::InvalidOperation, what));
    let mut rest = template;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start + 1..];
        let (close, statement) = match after.as_bytes().first() {
            Some(b'{') => ("}}", false),
            Some(b'%') => ("%}", true),
            Some(b'#') => {
                rest = after.find("#}").map_or("", |end| &after[end + 2..]);
                continue;
            }
            _ => {
                rest = after;
                continue;
            }
        };
        // The tag's inside, without its whitespace-control marks.
        let inside = after[1..].strip_prefix(['-', '+']).unwrap_or(&after[1..]);
        let mut quote = None;
        let mut escaped = false;
        let mut end = inside.len();
        for (i, c) in inside.char_indices() {
            match quote {
                Some(q) => {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None if c == '"' || c == '\'' => quote = Some(c),
                None if inside[i..].starts_with(close) => {
                    end = i;
                    break;
                }
                None if inside[i..].starts_with(['-', '+']) && inside[i + 1..].starts_with(close) => {}
                None if matches!(c, '*' | '+' | '~') => return refuse(format!("the {c} operator is not allowed")),
                None => {}
            }
        }
        if statement {
            let word = inside[..end].split_whitespace().next().unwrap_or("");
            if !STATEMENTS.contains(&word) {
                return refuse(format!("only if, elif and else are allowed, not {word:?}"));
            }
        }
        rest = inside.get(end + close.len()..).unwrap_or("");
    }
    Ok(())
}

fn values(facts: &Facts<'_>) -> Value {
    context! {
        brand => facts.brand,
        name => facts.name,
        order => facts.order,
        title => facts.title,
        tracking_number => facts.tracking_number,
        carrier => facts.carrier,
        tracking_url => facts.tracking_url,
        estimated_delivery_date => facts.estimated_delivery_date,
    }
}

/// Renders one field's template with `facts` (plain text: the layout escapes it).
pub fn render_text(template: &str, facts: &Facts<'_>) -> Result<String, minijinja::Error> {
    check_constructs(template)?;
    environment().render_str(template, values(facts)).map(|text| text.trim().to_owned())
}

impl MessageTexts {
    /// The fields given, by name.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("subject", &self.subject), ("headline", &self.headline), ("body", &self.body), ("sms", &self.sms)]
            .into_iter()
            .filter_map(|(name, text)| text.as_deref().map(|t| (name, t)))
    }

    /// Checks every field: its length, that it parses, and that it renders with sample facts
    /// (every value it names exists). Errors name the field, the line and the reason.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.fields().next().is_none() {
            return Err(DomainError::invalid("subject", "give at least one of subject, headline, body, sms"));
        }
        let sample = Facts {
            brand: "Acme",
            name: Some("Ann"),
            order: "#1001",
            title: Some("Sample order"),
            tracking_number: "1Z999AA10123456784",
            carrier: Some("UPS"),
            tracking_url: "https://track.example.com/t/acme/1Z999AA10123456784",
            estimated_delivery_date: Some("4 December 2026"),
        };
        for (field, template) in self.fields() {
            if template.trim().is_empty() || template.chars().count() > MAX_TEXT {
                return Err(DomainError::invalid(field, format!("must be 1 to {MAX_TEXT} characters")));
            }
            if let Err(error) = render_text(template, &sample) {
                let line = error.line().map(|l| format!("line {l}: ")).unwrap_or_default();
                let reason = error.detail().map_or_else(|| error.kind().to_string(), str::to_owned);
                let (known, filters) = (VARIABLES.join(", "), FILTERS.join(", "));
                return Err(DomainError::invalid(
                    field,
                    format!(
                        "{line}{} (values: {known}; filters: {filters})",
                        reason.to_lowercase().trim_end_matches('.')
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A merchant's wordings, at most one per trigger and language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantTexts {
    /// The wordings.
    pub texts: Vec<MessageTexts>,
}

impl MerchantTexts {
    /// The wording for `trigger` in `language`, if the merchant wrote one.
    pub fn find(&self, trigger: Trigger, language: Language) -> Option<&MessageTexts> {
        self.texts.iter().find(|t| t.trigger == trigger && t.language == language)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> MessageTexts {
        MessageTexts {
            trigger: Trigger::Delivered,
            language: Language::En,
            subject: None,
            headline: None,
            body: Some(body.to_owned()),
            sms: None,
        }
    }

    #[test]
    fn broken_templates_are_refused_with_the_field_line_and_reason() {
        texts("Hi {{ name }}, order {{ order }} from {{ brand }} has arrived.").validate().expect("valid");
        let unclosed = texts("Line one\n{% if name %}Hello").validate().expect_err("unclosed");
        assert_eq!(unclosed.field, "body");
        assert!(unclosed.reason.contains("line 2"), "{}", unclosed.reason);
        let unknown = texts("Your {{ parcel_colour }} parcel").validate().expect_err("unknown");
        assert!(unknown.reason.contains("undefined") && unknown.reason.contains("tracking_url"), "{}", unknown.reason);
        let looping = texts("{% for i in range(100000000) %}x{% endfor %}").validate().expect_err("range");
        assert_eq!(looping.field, "body");
        assert!(texts(&"x".repeat(MAX_TEXT + 1)).validate().is_err());
        let none = MessageTexts { body: None, ..texts("x") }.validate().expect_err("empty");
        assert!(none.reason.contains("at least one"));
    }

    #[test]
    fn templates_that_could_grow_or_loop_are_refused() {
        let refused = [
            ("{{ brand * 99999999 }}", "operator"),
            ("{{ (brand ~ brand) }}", "operator"),
            ("{{ order + order }}", "operator"),
            ("{% set a = brand %}{{ a }}", "not \"set\""),
            ("{% for c in brand %}{{ c }}{% endfor %}", "not \"for\""),
            ("{%- macro m() %}x{% endmacro %}", "not \"macro\""),
            ("{{ brand|replace('', brand) }}", "is unknown"),
            ("{{ brand|join(brand) }}", "is unknown"),
            ("{{ brand.replace('', brand) }}", ""),
        ];
        for (template, reason) in refused {
            let error = texts(template).validate().expect_err(template);
            assert!(error.reason.contains(reason), "{template}: {}", error.reason);
        }
        let allowed = [
            "{{- brand|upper -}}: {{ name|default('there')|title }} {# a * note ~ #}",
            "{% if carrier and name is defined %}{{ carrier }}{% elif title %}{{ title|trim }}{% else %}-{%- endif %}",
            "{{ \"a * b ~ c + d }}\" }} costs {{ '%}' }} {{ order|length }}",
        ];
        for template in allowed {
            texts(template).validate().unwrap_or_else(|e| panic!("{template}: {}", e.reason));
        }
    }

    #[test]
    fn templates_render_plain_facts() {
        let facts = Facts { brand: "Acme", order: "#7", tracking_url: "https://t/7", ..Facts::default() };
        let text =
            render_text("{{ brand }}: {{ order }}{% if name %} for {{ name }}{% endif %} <b>", &facts).expect("ok");
        assert_eq!(text, "Acme: #7 <b>", "no escaping here: the layout escapes");
    }
}
