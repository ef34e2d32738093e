//! The languages shopper-facing text is written in, and how a wanted language is matched.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// A language Porchlight's shopper-facing text (pages, messages) is complete in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Language {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
    /// Spanish.
    Es,
    /// German.
    De,
    /// French.
    Fr,
    /// Japanese.
    Ja,
}

impl Language {
    /// Every language, English first.
    pub const ALL: [Language; 6] =
        [Language::En, Language::ZhCn, Language::Es, Language::De, Language::Fr, Language::Ja];

    /// The BCP 47 tag, as `<html lang>` and the API write it.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::ZhCn => "zh-CN",
            Language::Es => "es",
            Language::De => "de",
            Language::Fr => "fr",
            Language::Ja => "ja",
        }
    }

    /// The language's own name for itself, for a language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::ZhCn => "简体中文",
            Language::Es => "Español",
            Language::De => "Deutsch",
            Language::Fr => "Français",
            Language::Ja => "日本語",
        }
    }

    /// The exact tag (case-insensitive), as the API takes it.
    pub fn parse(raw: &str) -> Result<Language, DomainError> {
        Language::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(raw))
            .ok_or_else(|| DomainError::invalid("language", format!("{raw:?} is not one of en, zh-CN, es, de, fr, ja")))
    }

    /// The language a BCP 47 tag asks for, loosely: its primary subtag decides (`de-AT` is
    /// German, `zh-Hant` and `zh-TW` are Chinese, the only script offered), `None` for a
    /// language not offered.
    pub fn matching(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Language::ALL.into_iter().find(|l| l.code().split('-').next().is_some_and(|p| p.eq_ignore_ascii_case(primary)))
    }

    /// The languages of an `Accept-Language` header that are offered, most wanted first
    /// (quality values respected, `q=0` excluded, ties in header order).
    pub fn from_accept_language(header: &str) -> Vec<Language> {
        let mut wanted: Vec<(u16, usize, Language)> = Vec::new();
        for (position, part) in header.split(',').take(32).enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16));
            let (Some(quality), Some(language)) = (quality, Language::matching(tag)) else { continue };
            match wanted.iter_mut().find(|(_, _, l)| *l == language) {
                // The same language twice (`fr;q=0.5, fr-CA`): its best quality counts.
                Some(seen) if seen.0 < quality => *seen = (quality, position, language),
                Some(_) => {}
                None => wanted.push((quality, position, language)),
            }
        }
        wanted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        wanted.into_iter().filter(|(quality, _, _)| *quality > 0).map(|(_, _, l)| l).collect()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl From<Language> for String {
    fn from(language: Language) -> String {
        language.code().to_owned()
    }
}

impl TryFrom<String> for Language {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Language, DomainError> {
        Language::parse(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_exactly_and_match_loosely() {
        assert_eq!(Language::parse("zh-cn"), Ok(Language::ZhCn));
        assert!(Language::parse("zh").is_err());
        assert_eq!(Language::matching("zh-Hant-TW"), Some(Language::ZhCn));
        assert_eq!(Language::matching("de_AT"), Some(Language::De));
        assert_eq!(Language::matching("pt-BR"), None);
        assert_eq!(Language::matching(""), None);
    }

    #[test]
    fn accept_language_orders_by_quality_then_position() {
        let wanted = Language::from_accept_language("pt-BR, fr;q=0.5, de-CH;q=0.9, en;q=0, ja;q=0.9, fr-CA");
        assert_eq!(wanted, [Language::Fr, Language::De, Language::Ja]);
        assert!(Language::from_accept_language("*;q=0.1, xx").is_empty());
        assert_eq!(Language::from_accept_language("es;q=abc, ja"), [Language::Ja]);
    }
}
