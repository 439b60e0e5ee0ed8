//! The date functions (`year`, `month`, `day_of_month`, `day_of_week`,
//! `day_of_year`, `days_in_month`, `hour`, `minute`) of a value taken as
//! Unix seconds, in UTC, with a hand-rolled proleptic Gregorian calendar.

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    days_since_epoch: i64,
    seconds_of_day: i64,
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `civil_from_days`, for `secs` Unix seconds.
fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let seconds_of_day = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        days_since_epoch: days,
        seconds_of_day,
    }
}

/// The date function `name` of `v` (Unix seconds, truncated toward zero
/// as Go's `int64(v)`), or `None` when `name` is not a date function.
///
/// Values Go cannot convert to `int64` (NaN, ±Inf, beyond ±2^63) give NaN.
pub(super) fn date_function(name: &str, v: f64) -> Option<f64> {
    let f: fn(Civil) -> i64 = match name {
        "year" => |c| c.year,
        "month" => |c| c.month,
        "day_of_month" => |c| c.day,
        // 1970-01-01 was a Thursday (4).
        "day_of_week" => |c| (c.days_since_epoch + 4).rem_euclid(7),
        "day_of_year" => |c| (1..c.month).map(|m| days_in_month(c.year, m)).sum::<i64>() + c.day,
        "days_in_month" => |c| days_in_month(c.year, c.month),
        "hour" => |c| c.seconds_of_day / 3600,
        "minute" => |c| c.seconds_of_day % 3600 / 60,
        _ => return None,
    };
    // 2^63 is exactly representable; anything at or above it overflows.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let t = v.trunc();
    if !(-LIMIT..LIMIT).contains(&t) {
        return Some(f64::NAN);
    }
    Some(f(civil(t as i64)) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str, v: f64) -> f64 {
        date_function(name, v).unwrap()
    }

    #[test]
    fn epoch() {
        assert_eq!(d("year", 0.0), 1970.0);
        assert_eq!(d("month", 0.0), 1.0);
        assert_eq!(d("day_of_month", 0.0), 1.0);
        assert_eq!(d("day_of_year", 0.0), 1.0);
        assert_eq!(d("day_of_week", 0.0), 4.0);
        assert_eq!(d("hour", 0.0), 0.0);
        assert_eq!(d("minute", 0.0), 0.0);
        assert_eq!(d("days_in_month", 0.0), 31.0);
    }

    #[test]
    fn functions_test_cases() {
        // 2006-01-02 22:04:05 UTC, a Monday.
        let t = 1_136_239_445.0;
        assert_eq!(d("year", t), 2006.0);
        assert_eq!(d("month", t), 1.0);
        assert_eq!(d("day_of_month", t), 2.0);
        assert_eq!(d("day_of_year", t), 2.0);
        assert_eq!(d("day_of_week", t), 1.0);
        assert_eq!(d("hour", t), 22.0);
        assert_eq!(d("minute", t), 4.0);
        assert_eq!(d("year", 1_230_767_999.0), 2008.0);
        assert_eq!(d("year", 1_230_768_000.0), 2009.0);
        assert_eq!(d("month", 1_456_790_399.0), 2.0);
        assert_eq!(d("day_of_month", 1_456_790_399.0), 29.0);
        assert_eq!(d("month", 1_456_790_400.0), 3.0);
        assert_eq!(d("day_of_month", 1_456_790_400.0), 1.0);
        assert_eq!(d("day_of_year", 1_483_191_420.0), 366.0);
        assert_eq!(d("day_of_year", 1_672_493_820.0), 365.0);
        assert_eq!(d("days_in_month", 1_454_284_800.0), 29.0);
        assert_eq!(d("days_in_month", 1_485_907_200.0), 28.0);
    }

    #[test]
    fn before_epoch_and_fractions() {
        // 1969-12-31 23:59:59, a Wednesday; -0.5 truncates to 0.
        assert_eq!(d("year", -1.0), 1969.0);
        assert_eq!(d("day_of_year", -1.0), 365.0);
        assert_eq!(d("day_of_week", -1.0), 3.0);
        assert_eq!(d("hour", -1.0), 23.0);
        assert_eq!(d("minute", -1.0), 59.0);
        assert_eq!(d("year", -0.5), 1970.0);
        // 2000-02-29 (leap century) and 1900 (not leap).
        assert_eq!(d("days_in_month", 951_782_400.0), 29.0);
        assert_eq!(d("days_in_month", -2_206_310_400.0), 28.0);
    }

    #[test]
    fn non_finite_and_unknown() {
        assert!(d("year", f64::NAN).is_nan());
        assert!(d("hour", f64::INFINITY).is_nan());
        assert!(d("hour", 1e300).is_nan());
        assert!(!d("year", 1e15).is_nan());
        assert_eq!(date_function("abs", 1.0), None);
    }
}
