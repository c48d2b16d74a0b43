//! The pure parts of personal-data reporting: reading `Cycle-Period` (delta seconds or an
//! ISO-8601 duration) and writing `updatedAt` (RFC 3339, UTC).

use std::time::Duration;

/// Which form a `Cycle-Period` value came in (logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodForm {
    Seconds,
    Iso8601,
}

impl PeriodForm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Iso8601 => "iso8601",
        }
    }
}

/// Shortest and longest cycle followed, whatever an answer states.
pub const MIN_CYCLE: Duration = Duration::from_secs(60);
pub const MAX_CYCLE: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// A `Cycle-Period` value: whole seconds (`604800`) or an ISO-8601 duration (`P7D`, `PT12H`,
/// `P1W`, `P1DT30M`; years count 365 days, months 30), clamped to [`MIN_CYCLE`]..[`MAX_CYCLE`].
/// `None` for anything else (the cycle stays as it was).
pub fn parse_cycle_period(value: &str) -> Option<(Duration, PeriodForm)> {
    let value = value.trim();
    let (secs, form) = if let Ok(secs) = value.parse::<u64>() {
        (secs, PeriodForm::Seconds)
    } else {
        (iso8601_secs(value)?, PeriodForm::Iso8601)
    };
    let period = Duration::from_secs(secs).clamp(MIN_CYCLE, MAX_CYCLE);
    Some((period, form))
}

fn iso8601_secs(value: &str) -> Option<u64> {
    let rest = value
        .strip_prefix('P')
        .or_else(|| value.strip_prefix('p'))?;
    if rest.is_empty() {
        return None;
    }
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((_, "")) => return None,
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    const DAY: u64 = 24 * 60 * 60;
    let mut total: u64 = 0;
    let mut add = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut number = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let c = c.to_ascii_uppercase();
            // Designators in order, each at most once.
            let (_, unit) = allowed.by_ref().find(|(d, _)| *d == c)?;
            let n: u64 = number.parse().ok()?;
            total = total.checked_add(n.checked_mul(*unit)?)?;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    add(
        date,
        &[
            ('Y', 365 * DAY),
            ('M', 30 * DAY),
            ('W', 7 * DAY),
            ('D', DAY),
        ],
    )?;
    if let Some(time) = time {
        add(time, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    Some(total)
}

/// Unix seconds as RFC 3339 UTC (`2026-12-06T17:00:00Z`).
pub fn rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(value: &str) -> Option<(u64, PeriodForm)> {
        parse_cycle_period(value).map(|(d, f)| (d.as_secs(), f))
    }

    #[test]
    fn cycle_periods_in_seconds_and_iso_8601() {
        use PeriodForm::*;
        assert_eq!(secs("604800"), Some((604_800, Seconds)));
        assert_eq!(secs(" 86400 "), Some((86_400, Seconds)));
        assert_eq!(secs("P7D"), Some((604_800, Iso8601)));
        assert_eq!(secs("P1W"), Some((604_800, Iso8601)));
        assert_eq!(secs("PT12H"), Some((43_200, Iso8601)));
        assert_eq!(secs("P1DT2H3M4S"), Some((93_784, Iso8601)));
        assert_eq!(secs("pt90m"), Some((5_400, Iso8601)));
        assert_eq!(secs("P1M"), Some((30 * 86_400, Iso8601)));
        // Clamped.
        assert_eq!(secs("1"), Some((60, Seconds)));
        assert_eq!(secs("PT0S"), Some((60, Iso8601)));
        assert_eq!(secs("P10Y"), Some((MAX_CYCLE.as_secs(), Iso8601)));
        for bad in [
            "",
            "P",
            "PT",
            "7D",
            "P7",
            "PT1D",
            "P1H",
            "P1D1W",
            "P1DD",
            "-1",
            "1.5",
            "P1.5D",
            "P99999999999999999999D",
            "seven days",
        ] {
            assert_eq!(secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_are_rfc_3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_575_261), "2026-12-06T16:41:01Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
