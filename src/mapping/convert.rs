//! Value conversions used by targets: EDIFACT date/time formats (2379) to
//! ISO 8601, acknowledgement status names.

use chrono::{NaiveDate, NaiveTime};

use crate::model::AckStatus;

fn date8(s: &str) -> Result<String, String> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a date CCYYMMDD"));
    }
    // Eight ASCII digits: read them directly (chrono's format parser and
    // formatter cost thousands of instructions per date); chrono only
    // checks that the date exists.
    let b = s.as_bytes();
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    let (y, m, d) = (num(0..4), num(4..6), num(6..8));
    if NaiveDate::from_ymd_opt(y as i32, m, d).is_none() {
        return Err(format!("{s:?} is not a valid calendar date"));
    }
    let mut out = String::with_capacity(10);
    out.push_str(&s[0..4]);
    out.push('-');
    out.push_str(&s[4..6]);
    out.push('-');
    out.push_str(&s[6..8]);
    Ok(out)
}

fn time(s: &str) -> Result<String, String> {
    let (fmt, out) = match s.len() {
        4 => ("%H%M", "%H:%M"),
        6 => ("%H%M%S", "%H:%M:%S"),
        _ => return Err(format!("{s:?} is not a time HHMM or HHMMSS")),
    };
    NaiveTime::parse_from_str(s, fmt)
        .map(|t| t.format(out).to_string())
        .map_err(|_| format!("{s:?} is not a valid time"))
}

fn datetime(s: &str) -> Result<String, String> {
    if s.len() < 12 || !s.is_ascii() {
        return Err(format!("{s:?} is not a date-time CCYYMMDDHHMM"));
    }
    Ok(format!("{}T{}", date8(&s[..8])?, time(&s[8..])?))
}

/// Converts an EDIFACT date/time value in format `format` (2379; 102 when
/// absent) to ISO 8601. Formats it does not know are returned as sent.
pub fn edifact_date(value: &str, format: Option<&str>) -> Result<String, String> {
    let v = value.trim();
    let format = format.unwrap_or(match v.len() {
        12 => "203",
        14 => "204",
        _ => "102",
    });
    match format {
        "102" => date8(v),
        "101" => {
            if v.len() == 6 {
                date8(&format!("20{v}"))
            } else {
                Err(format!("{v:?} is not a date YYMMDD"))
            }
        }
        "203" | "204" => datetime(v),
        "718" | "719" => {
            let (a, b) = v
                .split_once('-')
                .ok_or_else(|| format!("{v:?} is not a period (two dates joined by '-')"))?;
            let conv = if format == "718" { date8 } else { datetime };
            Ok(format!("{}/{}", conv(a)?, conv(b)?))
        }
        "610" if v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(format!("{}-{}", &v[..4], &v[4..]))
        }
        "616" if v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(format!("{}-W{}", &v[..4], &v[4..]))
        }
        "602" if v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(v.to_string()),
        "610" | "616" | "602" => Err(format!("{v:?} does not match date format {format}")),
        _ => Ok(v.to_string()),
    }
}

/// Acknowledgement status from the canonical name a code table gives.
pub fn ack_status(name: &str) -> Option<AckStatus> {
    Some(match name {
        "received" => AckStatus::Received,
        "accepted" => AckStatus::Accepted,
        "partially_accepted" => AckStatus::PartiallyAccepted,
        "rejected" => AckStatus::Rejected,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn date8_agrees_with_chrono() {
        let mut cases: Vec<String> = vec![
            "00000101", "00000229", "19000229", "20000229", "20240229", "20230229", "20241301",
            "20240001", "20240100", "20240132", "20240431", "20241231", "99991231", "00991231",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for y in [1999, 2000, 2024, 2100] {
            for m in 0..=13 {
                for d in [0, 1, 28, 29, 30, 31, 32] {
                    cases.push(format!("{y:04}{m:02}{d:02}"));
                }
            }
        }
        for c in cases {
            let chrono = chrono::NaiveDate::parse_from_str(&c, "%Y%m%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .ok();
            assert_eq!(super::date8(&c).ok(), chrono, "{c}");
        }
    }

    use super::*;

    #[test]
    fn formats() {
        assert_eq!(edifact_date("20240301", Some("102")).unwrap(), "2024-03-01");
        assert_eq!(
            edifact_date("202403011430", Some("203")).unwrap(),
            "2024-03-01T14:30"
        );
        assert_eq!(
            edifact_date("202403011430", None).unwrap(),
            "2024-03-01T14:30"
        );
        assert_eq!(edifact_date("240301", Some("101")).unwrap(), "2024-03-01");
        assert_eq!(
            edifact_date("20240301-20240331", Some("718")).unwrap(),
            "2024-03-01/2024-03-31"
        );
        assert_eq!(edifact_date("202410", Some("616")).unwrap(), "2024-W10");
        assert!(edifact_date("20240231", Some("102")).is_err());
        assert!(edifact_date("2024", Some("102")).is_err());
        assert_eq!(edifact_date("whatever", Some("805")).unwrap(), "whatever");
    }
}
