//! SMS length: how a text is encoded and in how many segments it is sent (3GPP TS 23.038's
//! GSM 7-bit default alphabet and its extension table; UCS-2 for anything else).

/// The alphabet a text is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    /// GSM 7-bit: 160 septets alone, 153 a segment when concatenated.
    Gsm7,
    /// UCS-2: 70 UTF-16 units alone, 67 a segment when concatenated.
    Ucs2,
}

/// A text's encoding, its length in the encoding's units, and its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SmsSegments {
    /// The alphabet.
    pub encoding: SmsEncoding,
    /// Septets (GSM 7-bit; extension characters count two) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Segments sent.
    pub segments: usize,
}

/// The GSM 7-bit default alphabet (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Its extension table (an escape and the character: two septets each).
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// `text` in the GSM 7-bit alphabet where the only characters outside it have a plain
/// stand-in (`á` → `a`, `ç` → `Ç`, typographic quotes and dashes → ASCII, no-break spaces →
/// spaces), as phones write them: one UCS-2 character would otherwise more than double the
/// segments. Text with characters that have none (Chinese, Japanese) is kept as it is.
pub fn fit_gsm7(text: &str) -> String {
    let stand_in = |c: char| -> Option<&'static str> {
        Some(match c {
            'á' | 'â' | 'ã' => "a",
            'Á' | 'Â' | 'À' | 'Ã' => "A",
            'í' | 'î' | 'ï' => "i",
            'Í' | 'Î' | 'Ì' | 'Ï' => "I",
            'ó' | 'ô' | 'õ' => "o",
            'Ó' | 'Ô' | 'Ò' | 'Õ' => "O",
            'ú' | 'û' => "u",
            'Ú' | 'Û' | 'Ù' => "U",
            'ê' | 'ë' => "e",
            'Ê' | 'È' | 'Ë' => "E",
            'ç' => "Ç",
            'œ' => "oe",
            'Œ' => "OE",
            '’' | '‘' | '´' => "'",
            '“' | '”' | '«' | '»' => "\"",
            '–' | '—' => "-",
            '…' => "...",
            '\u{a0}' | '\u{202f}' => " ",
            _ => return None,
        })
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c) {
            out.push(c);
        } else if let Some(plain) = stand_in(c) {
            out.push_str(plain);
        } else {
            return text.to_owned();
        }
    }
    out
}

/// How `text` is sent.
pub fn sms_segments(text: &str) -> SmsSegments {
    let septets: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (encoding, units, single, part) = match septets {
        Some(septets) => (SmsEncoding::Gsm7, septets, 160, 153),
        None => (SmsEncoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single { 1 } else { units.div_ceil(part) };
    SmsSegments { encoding, units, segments }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_alphabet_and_concatenation_headers() {
        let gsm = |units, segments| SmsSegments { encoding: SmsEncoding::Gsm7, units, segments };
        let ucs = |units, segments| SmsSegments { encoding: SmsEncoding::Ucs2, units, segments };
        assert_eq!(sms_segments(&"a".repeat(160)), gsm(160, 1));
        assert_eq!(sms_segments(&"a".repeat(161)), gsm(161, 2));
        assert_eq!(sms_segments(&"a".repeat(306)), gsm(306, 2));
        assert_eq!(sms_segments(&"a".repeat(307)), gsm(307, 3));
        assert_eq!(sms_segments("Café €5 [x]"), gsm(14, 1), "é is GSM; € and brackets take two septets");
        assert_eq!(sms_segments(&"é".repeat(70)), gsm(70, 1));
        assert_eq!(sms_segments(&"订".repeat(70)), ucs(70, 1));
        assert_eq!(sms_segments(&"订".repeat(71)), ucs(71, 2));
        assert_eq!(sms_segments("ç"), ucs(1, 1), "lower-case ç is not in the alphabet");
        assert_eq!(sms_segments("😀"), ucs(2, 1), "outside the BMP: two UTF-16 units");
    }

    #[test]
    fn accents_outside_the_alphabet_get_plain_stand_ins_and_scripts_are_kept() {
        assert_eq!(fit_gsm7("Síguelo: envío «rápido» — ça"), "Siguelo: envio \"rapido\" - Ça");
        assert_eq!(fit_gsm7("l'envoi arrive à 10\u{a0}h"), "l'envoi arrive à 10 h");
        assert_eq!(fit_gsm7("订单已发出 envío"), "订单已发出 envío", "no stand-in for Chinese: kept as it is");
        assert_eq!(sms_segments(&fit_gsm7("Síguelo")).encoding, SmsEncoding::Gsm7);
    }
}
