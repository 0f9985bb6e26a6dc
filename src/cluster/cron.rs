//! Standard 5-field cron schedules, as a CronJob's `spec.schedule` (upstream parses it with
//! `github.com/robfig/cron/v3` `ParseStandard`; `pkg/controller/cronjob/utils.go`).
//!
//! Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or `JAN`-`DEC`), day of
//! week (0-6 or `SUN`-`SAT`, 7 is also Sunday). Each field is `*`, `?` (day fields), a value,
//! a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the field's maximum), or a
//! comma-separated list of those. The macros `@yearly`, `@annually`, `@monthly`, `@weekly`,
//! `@daily`, `@midnight` and `@hourly` are accepted as robfig/cron does. Time zones
//! (`CRON_TZ=`, `TZ=`) are not: kubesim's clock is UTC.
//!
//! Day matching follows robfig/cron (and Vixie cron): when either day field starts with `*`
//! (or `?`), a day must match both; when both are restricted, either may match.
//!
//! The simulated clock: time zero of a run is Thursday 1970-01-01 00:00 UTC (the Unix epoch),
//! so a schedule's calendar fields refer to that calendar.

use crate::engine::SimTime;

const NANOS_PER_MIN: u64 = 60_000_000_000;

/// A parsed schedule: the allowed values of each field as bit sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CronSchedule {
    /// Minutes 0-59.
    minute: u64,
    /// Hours 0-23.
    hour: u64,
    /// Days of month 1-31.
    dom: u64,
    /// Months 1-12.
    month: u64,
    /// Days of week 0-6 (Sunday = 0).
    dow: u64,
    /// True if the day-of-month field started with `*` or `?`.
    dom_star: bool,
    /// True if the day-of-week field started with `*` or `?`.
    dow_star: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct Bounds {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of the first name (1 for months, 0 for days).
    names_from: u32,
}

const FIELDS: [Bounds; 5] = [
    Bounds {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Bounds {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Bounds {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Bounds {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    Bounds {
        name: "day of week",
        min: 0,
        // 7 is accepted as Sunday and folded into 0.
        max: 7,
        names: &DAYS,
        names_from: 0,
    },
];

fn value(text: &str, b: &Bounds) -> Result<u32, String> {
    if let Some(i) = b.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(i as u32 + b.names_from);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("{} field: {text:?} is not a number", b.name))?;
    if v < b.min || v > b.max {
        return Err(format!(
            "{} field: {v} is out of range {}-{}",
            b.name, b.min, b.max
        ));
    }
    Ok(v)
}

/// One comma-separated part of a field: its bits, and whether it started with `*`/`?`.
fn part(text: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let (range, step) = match text.split_once('/') {
        Some((r, s)) => {
            let step: u32 = s
                .parse()
                .map_err(|_| format!("{} field: step {s:?} is not a number", b.name))?;
            if step == 0 {
                return Err(format!("{} field: step must be positive", b.name));
            }
            (r, Some(step))
        }
        None => (text, None),
    };
    let star = range == "*" || range == "?";
    let (lo, hi) = if star {
        (b.min, b.max)
    } else if let Some((a, z)) = range.split_once('-') {
        (value(a, b)?, value(z, b)?)
    } else {
        let v = value(range, b)?;
        // `a/n` runs from a to the field's maximum (robfig/cron `getRange`).
        (v, if step.is_some() { b.max } else { v })
    };
    if lo > hi {
        return Err(format!("{} field: range {lo}-{hi} goes backwards", b.name));
    }
    let step = step.unwrap_or(1);
    let mut bits = 0u64;
    let mut v = lo;
    while v <= hi {
        bits |= 1 << v;
        v += step;
    }
    // robfig/cron `getRange`: `*` or `?` sets the star bit, unless a step above 1 follows.
    Ok((bits, star && step <= 1))
}

fn field(text: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for p in text.split(',') {
        if p.is_empty() {
            return Err(format!("{} field: empty list element", b.name));
        }
        let (x, s) = part(p, b)?;
        bits |= x;
        // robfig/cron `getField` ORs the parts, star bit included.
        star |= s;
    }
    Ok((bits, star))
}

impl CronSchedule {
    /// Parse a standard 5-field schedule (or a macro); the error says which field is wrong.
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let t = text.trim();
        let expanded = match t {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ if t.starts_with('@') => return Err(format!("unknown macro {t:?}")),
            _ if t.starts_with("TZ=") || t.starts_with("CRON_TZ=") => {
                return Err("time zones are not supported; kubesim's clock is UTC".into());
            }
            _ => t,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                parts.len()
            ));
        }
        let mut bits = [0u64; 5];
        let mut stars = [false; 5];
        for (i, p) in parts.iter().enumerate() {
            let (b, s) = field(p, &FIELDS[i])?;
            bits[i] = b;
            stars[i] = s;
        }
        // Sunday may be written 7.
        if bits[4] & (1 << 7) != 0 {
            bits[4] = (bits[4] & !(1 << 7)) | 1;
        }
        Ok(CronSchedule {
            minute: bits[0],
            hour: bits[1],
            dom: bits[2],
            month: bits[3],
            dow: bits[4],
            dom_star: stars[2],
            dow_star: stars[4],
        })
    }

    fn day_matches(&self, c: &Civil) -> bool {
        let dom = self.dom & (1 << c.day) != 0;
        let dow = self.dow & (1 << c.weekday) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// True if the schedule fires at the minute starting at `minutes` since the epoch.
    pub fn matches_minute(&self, minutes: u64) -> bool {
        let c = Civil::from_minutes(minutes);
        self.month & (1 << c.month) != 0
            && self.day_matches(&c)
            && self.hour & (1 << c.hour) != 0
            && self.minute & (1 << c.minute) != 0
    }

    /// The first time the schedule fires strictly after `t` (on a whole minute), or `None` if
    /// it never fires (e.g. `0 0 30 2 *`) within the next five years of simulated time.
    pub fn next_after(&self, t: SimTime) -> Option<SimTime> {
        let mut m = t.as_nanos() / NANOS_PER_MIN + 1;
        let limit = m + 5 * 366 * 24 * 60;
        while m < limit {
            let c = Civil::from_minutes(m);
            if self.month & (1 << c.month) == 0 || !self.day_matches(&c) {
                // Next day at midnight.
                m = (m / 1440 + 1) * 1440;
                continue;
            }
            if self.hour & (1 << c.hour) == 0 {
                m = (m / 60 + 1) * 60;
                continue;
            }
            if self.minute & (1 << c.minute) == 0 {
                m += 1;
                continue;
            }
            return Some(SimTime(m * NANOS_PER_MIN));
        }
        None
    }
}

/// A UTC calendar time, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month 1-12.
    pub month: u32,
    /// Day of month 1-31.
    pub day: u32,
    /// Day of week, Sunday = 0.
    pub weekday: u32,
    /// Hour 0-23.
    pub hour: u32,
    /// Minute 0-59.
    pub minute: u32,
}

impl Civil {
    /// The calendar time `minutes` after 1970-01-01 00:00 UTC (H. Hinnant's `civil_from_days`).
    pub fn from_minutes(minutes: u64) -> Civil {
        let days = (minutes / 1440) as i64;
        let rem = minutes % 1440;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            // 1970-01-01 was a Thursday (4).
            weekday: ((days + 4).rem_euclid(7)) as u32,
            hour: (rem / 60) as u32,
            minute: (rem % 60) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: u64) -> SimTime {
        SimTime(minutes * NANOS_PER_MIN)
    }

    #[test]
    fn calendar_of_known_instants() {
        // (minutes since epoch, year, month, day, weekday, hour, minute)
        for (m, y, mo, d, wd, h, mi) in [
            (0u64, 1970, 1, 1, 4, 0, 0),
            (1439, 1970, 1, 1, 4, 23, 59),
            (1440 * 31, 1970, 2, 1, 0, 0, 0),
            // 2000-02-29 12:34 (a leap day, Tuesday): 11016 days.
            (11_016 * 1440 + 12 * 60 + 34, 2000, 2, 29, 2, 12, 34),
        ] {
            let c = Civil::from_minutes(m);
            assert_eq!(
                (c.year, c.month, c.day, c.weekday, c.hour, c.minute),
                (y, mo, d, wd, h, mi),
                "minute {m}"
            );
        }
    }

    #[test]
    fn next_fire_times() {
        // (schedule, after minute, expected next minute)
        for (s, after, want) in [
            ("* * * * *", 0u64, 1u64),
            ("*/5 * * * *", 0, 5),
            ("*/5 * * * *", 7, 10),
            ("0 * * * *", 0, 60),
            ("15,45 * * * *", 20, 45),
            ("10-12 * * * *", 11, 12),
            ("10-12 * * * *", 12, 70),
            ("0-30/10 * * * *", 25, 30),
            ("5/20 * * * *", 30, 45),
            ("30 2 * * *", 0, 150),
            ("@hourly", 59, 60),
            ("@daily", 1, 1440),
            // 1970-01-01 is a Thursday: the next Monday is Jan 5.
            ("0 0 * * MON", 0, 4 * 1440),
            ("0 0 * * 1", 0, 4 * 1440),
            // Sunday as 7 and as 0: Jan 4.
            ("0 0 * * 7", 0, 3 * 1440),
            ("0 0 * * 0", 0, 3 * 1440),
            // Both day fields restricted: either matches (the 3rd, or a Monday).
            ("0 0 3 * 1", 0, 2 * 1440),
            // Day of month with a star in day of week: both must match.
            ("0 0 3 * *", 0, 2 * 1440),
            ("0 0 1 FEB *", 0, 31 * 1440),
            ("0 0 1 2 *", 0, 31 * 1440),
        ] {
            let c = CronSchedule::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(c.next_after(at(after)), Some(at(want)), "{s} after {after}");
            assert!(c.matches_minute(want), "{s} matches {want}");
        }
    }

    #[test]
    fn next_after_skips_the_current_minute_and_partial_minutes() {
        let c = CronSchedule::parse("*/10 * * * *").unwrap();
        // 10:30 into minute 10 -> the next is minute 20.
        let t = SimTime(10 * NANOS_PER_MIN + 30_000_000_000);
        assert_eq!(c.next_after(t), Some(at(20)));
    }

    #[test]
    fn an_impossible_date_never_fires() {
        let c = CronSchedule::parse("0 0 30 2 *").unwrap();
        assert_eq!(c.next_after(at(0)), None);
    }

    #[test]
    fn bad_schedules_are_refused_with_the_field() {
        for (s, needle) in [
            ("* * * *", "expected 5 fields"),
            ("60 * * * *", "minute field: 60 is out of range 0-59"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day of month field"),
            ("* * * 13 *", "month field"),
            ("* * * * 8", "day of week field"),
            ("*/0 * * * *", "step must be positive"),
            ("5-1 * * * *", "goes backwards"),
            ("x * * * *", "not a number"),
            ("1,,2 * * * *", "empty list element"),
            ("@often", "unknown macro"),
            ("CRON_TZ=UTC * * * * *", "time zones"),
        ] {
            let e = CronSchedule::parse(s).expect_err(s);
            assert!(e.contains(needle), "{s}: {e}");
        }
    }
}
