//! The legal clock of a request: when it was received, and by when the law says it must be
//! answered. Pure date arithmetic, in UTC calendar days.
//!
//! - GDPR, Art. 12(3): "without undue delay and in any event within one month of receipt of the
//!   request. That period may be extended by two further months"
//!   (https://eur-lex.europa.eu/eli/reg/2016/679/oj). Months are counted as Regulation (EEC,
//!   Euratom) No 1182/71 counts them, as the EDPB's Guidelines 01/2022 on the right of access
//!   (section 6.3) say: the period ends on the same date of the next month; when that month has
//!   no such date, on its last day; when the end falls on a Saturday or Sunday, on the next
//!   working day (Art. 3(2)(c) and 3(4), https://eur-lex.europa.eu/eli/reg/1971/1182/oj). Public
//!   holidays differ by Member State and are not applied: the date given is never later than the
//!   law's.
//! - CCPA, Cal. Civ. Code § 1798.130(a)(2)(A): respond "within 45 days of receiving the
//!   verifiable consumer request", extendable "once by an additional 45 days when reasonably
//!   necessary"; calendar days, no weekend rule.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, Weekday};

/// Which law's clock a deployment keeps (`LegalDeadline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// GDPR: one month, extendable by two.
    Gdpr,
    /// CCPA: 45 days, extendable by 45.
    Ccpa,
    /// No deadline recorded.
    None,
}

impl std::str::FromStr for Regime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gdpr" => Ok(Regime::Gdpr),
            "ccpa" => Ok(Regime::Ccpa),
            "none" | "" => Ok(Regime::None),
            other => Err(format!("{other:?} is not gdpr, ccpa or none")),
        }
    }
}

impl Regime {
    /// The deployment's regime: `LEGAL_DEADLINE` (the template's `LegalDeadline`), GDPR when
    /// unset.
    pub fn from_env() -> Result<Self, crate::error::ConfigError> {
        crate::config::or_default("LEGAL_DEADLINE", "gdpr")
            .parse()
            .map_err(|problem| crate::error::ConfigError {
                name: "LEGAL_DEADLINE",
                problem,
            })
    }
}

/// By when a request must be answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RespondBy {
    /// `GDPR` or `CCPA`.
    pub regime: String,
    /// The last day to answer (YYYY-MM-DD, UTC).
    pub due: String,
    /// The last day with the extension the law allows (the controller must tell the person
    /// within the first period, with the reasons).
    pub extendable_to: String,
    /// How the dates were counted.
    pub rule: String,
}

/// The deadline of a request received on `received` (UTC), or None without a regime.
pub fn respond_by(regime: Regime, received: Date) -> Option<RespondBy> {
    match regime {
        Regime::None => None,
        Regime::Gdpr => Some(RespondBy {
            regime: "GDPR".into(),
            due: working_day(add_months(received, 1)).to_string(),
            extendable_to: working_day(add_months(received, 3)).to_string(),
            rule: "GDPR Art. 12(3): one month from receipt, extendable by two; counted as \
                   Regulation 1182/71 (same date next month, or its last day; a Saturday or Sunday \
                   moves to Monday; public holidays not applied)"
                .into(),
        }),
        Regime::Ccpa => Some(RespondBy {
            regime: "CCPA".into(),
            due: (received + Duration::days(45)).to_string(),
            extendable_to: (received + Duration::days(90)).to_string(),
            rule: "Cal. Civ. Code 1798.130(a)(2)(A): 45 days from receipt, extendable once by 45"
                .into(),
        }),
    }
}

/// The same date `months` later, or the last day of that month when it has no such date.
fn add_months(d: Date, months: u8) -> Date {
    let index = d.month() as u8 - 1 + months;
    let year = d.year() + i32::from(index / 12);
    let month = Month::try_from(index % 12 + 1).unwrap_or(Month::December);
    let last = month.length(year);
    Date::from_calendar_date(year, month, d.day().min(last)).unwrap_or(d)
}

/// The day itself, or the Monday after a Saturday or Sunday.
fn working_day(d: Date) -> Date {
    match d.weekday() {
        Weekday::Saturday => d + Duration::days(2),
        Weekday::Sunday => d + Duration::days(1),
        _ => d,
    }
}

/// The calendar date (UTC) of an RFC 3339 timestamp.
pub fn date_of(rfc3339: &str) -> Option<Date> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC).date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn due(regime: Regime, d: Date) -> (String, String) {
        let r = respond_by(regime, d).unwrap();
        (r.due, r.extendable_to)
    }

    #[test]
    fn gdpr_counts_calendar_months_not_thirty_days() {
        // Received Monday 9 March 2026: due Thursday 9 April (31 days, not 30).
        assert_eq!(due(Regime::Gdpr, date!(2026 - 03 - 09)).0, "2026-04-09");
        // 31 January: February has no 31st, so its last day (Saturday 28 February 2026 → Monday 2 March).
        assert_eq!(due(Regime::Gdpr, date!(2026 - 01 - 31)).0, "2026-03-02");
        // A leap year: 31 January 2028 → Tuesday 29 February 2028.
        assert_eq!(due(Regime::Gdpr, date!(2028 - 01 - 31)).0, "2028-02-29");
        // Across the year's end, and the extension by two further months.
        assert_eq!(
            due(Regime::Gdpr, date!(2026 - 12 - 02)),
            ("2027-01-04".into(), "2027-03-02".into()),
            "2 January 2027 is a Saturday: Monday 4 January"
        );
    }

    #[test]
    fn ccpa_counts_45_calendar_days_and_45_more() {
        assert_eq!(
            due(Regime::Ccpa, date!(2026 - 12 - 02)),
            ("2027-01-16".into(), "2027-03-02".into())
        );
        assert_eq!(respond_by(Regime::None, date!(2026 - 12 - 02)), None);
    }

    #[test]
    fn regimes_and_timestamps_parse() {
        assert_eq!("GDPR".parse::<Regime>(), Ok(Regime::Gdpr));
        assert_eq!("ccpa".parse::<Regime>(), Ok(Regime::Ccpa));
        assert!("hipaa".parse::<Regime>().is_err());
        assert_eq!(
            date_of("2026-12-01T23:30:00.000-02:00"),
            Some(date!(2026 - 12 - 02))
        );
        assert_eq!(date_of("yesterday"), None);
    }
}
