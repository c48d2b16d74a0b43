//! Formats a timestamp the way a user's preferences ask (date format + language). Pure Rust and
//! UTC, so the server-rendered text and the hydrated text are byte-identical.

use super::model::{DateFormat, Locale};

/// (year, month 1-12, day 1-31) of a Unix timestamp in UTC (Howard Hinnant's civil_from_days).
pub fn civil_date(unix_seconds: i64) -> (i64, u32, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // In range by construction: day 1-31, month 1-12.
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or_default();
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or_default();
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn month_name(locale: Locale, month: u32) -> &'static str {
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DE: [&str; 12] = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const ES: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    let table = match locale {
        Locale::EnUs | Locale::EnGb | Locale::JaJp => &EN,
        Locale::DeDe => &DE,
        Locale::FrFr => &FR,
        Locale::EsEs => &ES,
    };
    usize::try_from(month.saturating_sub(1))
        .ok()
        .and_then(|i| table.get(i))
        .copied()
        .unwrap_or("")
}

/// A date as the user asked to see dates.
pub fn format_date(unix_seconds: i64, format: DateFormat, locale: Locale) -> String {
    let (y, m, d) = civil_date(unix_seconds);
    match format {
        DateFormat::Iso => format!("{y:04}-{m:02}-{d:02}"),
        DateFormat::DayMonthYear if locale == Locale::DeDe => format!("{d:02}.{m:02}.{y:04}"),
        DateFormat::DayMonthYear => format!("{d:02}/{m:02}/{y:04}"),
        DateFormat::MonthDayYear => format!("{m:02}/{d:02}/{y:04}"),
        DateFormat::Long => match locale {
            Locale::EnUs => format!("{} {d}, {y}", month_name(locale, m)),
            Locale::JaJp => format!("{y}年{m}月{d}日"),
            Locale::DeDe => format!("{d}. {} {y}", month_name(locale, m)),
            Locale::EsEs => format!("{d} de {} de {y}", month_name(locale, m)),
            Locale::EnGb | Locale::FrFr => format!("{d} {} {y}", month_name(locale, m)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_28_2026: i64 = 1_795_864_800; // 2026-11-28T11:20:00Z

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(NOV_28_2026), (2026, 11, 28));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }

    #[test]
    fn formats() {
        let f = |fmt, loc| format_date(NOV_28_2026, fmt, loc);
        assert_eq!(f(DateFormat::Iso, Locale::EnUs), "2026-11-28");
        assert_eq!(f(DateFormat::DayMonthYear, Locale::EnGb), "28/11/2026");
        assert_eq!(f(DateFormat::DayMonthYear, Locale::DeDe), "28.11.2026");
        assert_eq!(f(DateFormat::MonthDayYear, Locale::EnUs), "11/28/2026");
        assert_eq!(f(DateFormat::Long, Locale::EnUs), "November 28, 2026");
        assert_eq!(f(DateFormat::Long, Locale::EnGb), "28 November 2026");
        assert_eq!(f(DateFormat::Long, Locale::DeDe), "28. November 2026");
        assert_eq!(f(DateFormat::Long, Locale::FrFr), "28 novembre 2026");
        assert_eq!(f(DateFormat::Long, Locale::EsEs), "28 de noviembre de 2026");
        assert_eq!(f(DateFormat::Long, Locale::JaJp), "2026年11月28日");
    }
}
