//! Anomaly-detection bands, CloudWatch's `ANOMALY_DETECTION_BAND(m1, WIDTH)`: a model learned
//! from an alarm's own datapoints that gives, for a moment, the range of values expected then.
//! Pure: no clock, no store. The sampler in `alarms` feeds it one datapoint per period, judges
//! each datapoint against the band as it stood before that datapoint was learned, and stores
//! the model ([`Model::to_json`]) as a document of kind `alarm-model` after each one.
//!
//! # The model
//! - **Seasonal term.** The day (the season) is cut by time of day (UTC) into buckets, one per
//!   period of the day (24 hourly ones for an hourly period), at most 96 quarter-hours (periods
//!   of 15 minutes or less), at least one (periods of a day or more; [`Config::for_period`]).
//!   Each bucket keeps an exponentially weighted mean and variance of the values that fell in
//!   it, less the level.
//! - **Level.** An offset shared by every bucket, moved by a little of each residual (the value
//!   less the expected value) and remembering about a day ([`Config::level_memory`]): a change
//!   of the whole day is followed in a day or two rather than in the buckets' four (additive
//!   Holt-Winters).
//! - **Weights.** A mean's weight for a new value is `1/n` for its first values (a plain
//!   average: no start-up bias), and never less than what remembers about [`Config::memory`]
//!   seasons (four days): the band follows drifts.
//! - **Band.** `expected ± width × sd`, where `expected` is the level plus the bucket's mean and
//!   `sd` the bucket's standard deviation, shrunk towards the pooled one of all buckets while the
//!   bucket holds few values, and never below [`Config::floor`] × |expected| +
//!   [`Config::epsilon`] (5 % and 0.01), so a flat metric does not alarm on noise.
//! - **Anomalies are clipped.** A value is learned clamped to `expected ± 3 sd` of the band it
//!   was judged against: one spike moves the mean and widens the band by a little only. A
//!   lasting change still wins, each clipped value widening the band a bit more: a step of
//!   +30 % is normal again within four days.
//!
//! # Warm-up
//! - Before [`Config::min_points`] datapoints have been learned (a season's worth, at least 12)
//!   there is no band: the datapoint cannot be judged and counts as missing (`treatMissingData`
//!   decides). A band from part of a day would flag the rest of the day's pattern.
//! - Then, until [`Config::warm_seasons`] (3) seasons have passed since the first datapoint and
//!   the datapoint's bucket holds [`Config::min_bucket_points`] (3) values, the band is
//!   non-seasonal: the weighted mean and standard deviation of every value learned.
//! - From then on it is seasonal.

use super::Comparison;
use jiff::Timestamp;
use serde_json::{Value, json};

/// Seconds in a day, the season of the default model.
const DAY: u64 = 86_400;

/// The most buckets a season is cut into (quarter-hours of a day).
const MAX_BUCKETS: u64 = 96;

/// How many values' worth of the pooled variance a bucket's variance starts from.
const PRIOR: f64 = 2.0;

/// The lowest and highest values expected for one datapoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// The lower threshold.
    pub lower: f64,
    /// The upper threshold.
    pub upper: f64,
}

impl Band {
    /// Whether `value` breaches the band as the band operator `comparison` reads it; the
    /// threshold operators never breach a band.
    pub fn breached_by(&self, comparison: Comparison, value: f64) -> bool {
        match comparison {
            Comparison::LessThanLowerOrGreaterThanUpperThreshold => {
                value < self.lower || value > self.upper
            }
            Comparison::GreaterThanUpperThreshold => value > self.upper,
            Comparison::LessThanLowerThreshold => value < self.lower,
            Comparison::GreaterThanThreshold
            | Comparison::GreaterThanOrEqualToThreshold
            | Comparison::LessThanThreshold
            | Comparison::LessThanOrEqualToThreshold => false,
        }
    }
}

/// How a reason states a band comparison over `bands` (one per datapoint listed), as CloudWatch
/// words it: `less than the lower thresholds [1.0] or greater than the upper thresholds [9.0]`,
/// each side after `not ` when `not`.
pub fn reason_words(comparison: Comparison, bands: &[Band], not: bool) -> String {
    let list = |side: fn(&Band) -> f64| {
        let values: Vec<String> = bands.iter().map(|b| format!("{:?}", side(b))).collect();
        format!("[{}]", values.join(", "))
    };
    let not = if not { "not " } else { "" };
    let lower = format!("{not}less than the lower thresholds {}", list(|b| b.lower));
    let upper = format!(
        "{not}greater than the upper thresholds {}",
        list(|b| b.upper)
    );
    match comparison {
        Comparison::GreaterThanUpperThreshold => upper,
        Comparison::LessThanLowerThreshold => lower,
        _ => format!("{lower} or {upper}"),
    }
}

/// The model's settings. [`Config::for_period`] gives the ones the engine uses; tests may
/// choose others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Seconds between datapoints (the alarm's period).
    pub period: u64,
    /// Seconds the pattern repeats over (a day).
    pub season: u64,
    /// How many buckets the season is cut into.
    pub buckets: usize,
    /// Datapoints learned before there is any band.
    pub min_points: u64,
    /// Seasons since the first datapoint before the band is seasonal.
    pub warm_seasons: u64,
    /// Values a bucket holds before its band is used.
    pub min_bucket_points: u64,
    /// About how many seasons the weighted means remember.
    pub memory: f64,
    /// About how many seasons the level remembers; 0 for no level.
    pub level_memory: f64,
    /// The least standard deviation, as a fraction of the expected value's magnitude ...
    pub floor: f64,
    /// ... plus this.
    pub epsilon: f64,
    /// Values are learned clamped to the expected value ± this many standard deviations.
    pub clip: f64,
}

impl Config {
    /// The settings for an alarm whose period is `period` seconds: a daily season in
    /// `clamp(86400 / period, 1, 96)` buckets, no band before a day of datapoints (at least 12),
    /// and the warm-up and weights of the module docs.
    pub fn for_period(period: u64) -> Config {
        let period = period.max(1);
        Config {
            period,
            season: DAY,
            buckets: (DAY / period).clamp(1, MAX_BUCKETS) as usize,
            min_points: (DAY / period).max(12),
            warm_seasons: 3,
            min_bucket_points: 3,
            memory: 4.0,
            level_memory: 1.0,
            floor: 0.05,
            epsilon: 0.01,
            clip: 3.0,
        }
    }

    /// Datapoints per season.
    fn per_season(&self) -> f64 {
        (self.season as f64 / self.period.max(1) as f64).max(1.0)
    }

    /// Datapoints per bucket per season.
    fn per_bucket(&self) -> f64 {
        (self.per_season() / self.buckets.max(1) as f64).max(1.0)
    }

    /// The bucket of the datapoint at `at`.
    fn bucket(&self, at: Timestamp) -> usize {
        let season = self.season.max(1);
        let into = at.as_second().rem_euclid(season as i64) as u128;
        let bucket = into * self.buckets as u128 / season as u128;
        (bucket as usize).min(self.buckets.saturating_sub(1))
    }
}

/// An exponentially weighted mean and variance.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Moments {
    /// Values learned.
    n: u64,
    mean: f64,
    var: f64,
}

impl Moments {
    /// Learns `x`, weighted `1/n` but never less than `1/memory`.
    fn learn(&mut self, x: f64, memory: f64) {
        self.n = self.n.saturating_add(1);
        let weight = (1.0 / self.n as f64).max(1.0 / memory.max(1.0));
        let d = x - self.mean;
        self.mean += weight * d;
        self.var = (1.0 - weight) * (self.var + weight * d * d);
    }

    fn to_json(self) -> Value {
        json!([self.n, self.mean, self.var])
    }

    fn from_json(value: &Value) -> Option<Moments> {
        let moments = Moments {
            n: value.get(0)?.as_u64()?,
            mean: value.get(1)?.as_f64()?,
            var: value.get(2)?.as_f64()?,
        };
        (moments.mean.is_finite() && moments.var.is_finite() && moments.var >= 0.0)
            .then_some(moments)
    }
}

/// A learned band model (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    config: Config,
    /// Datapoints learned.
    count: u64,
    /// When the first was.
    first: Option<Timestamp>,
    /// Every value, for the non-seasonal band.
    all: Moments,
    level: f64,
    /// Each bucket's values less the level.
    buckets: Vec<Moments>,
}

impl Model {
    /// A model that has learned nothing.
    pub fn new(config: Config) -> Model {
        Model {
            config,
            count: 0,
            first: None,
            all: Moments::default(),
            level: 0.0,
            buckets: vec![Moments::default(); config.buckets.max(1)],
        }
    }

    /// The band for the datapoint at `at`, `width` standard deviations either side of the
    /// expected value; `None` while warming up.
    pub fn band(&self, at: Timestamp, width: f64) -> Option<Band> {
        let (expected, sd) = self.expected(at)?;
        Some(Band {
            lower: expected - width * sd,
            upper: expected + width * sd,
        })
    }

    /// Whether the band at `at` is the seasonal one (rather than none or the warm-up's).
    pub fn is_seasonal(&self, at: Timestamp) -> bool {
        self.count >= self.config.min_points && self.seasonal(at).is_some()
    }

    /// The value expected at `at` and its standard deviation (floored); `None` while warming up.
    pub fn expected(&self, at: Timestamp) -> Option<(f64, f64)> {
        if self.count < self.config.min_points {
            return None;
        }
        let (expected, sd) = match self.seasonal(at) {
            Some(bucket) => (self.level + bucket.mean, self.shrunk_sd(bucket)),
            None => (self.all.mean, self.all.var.max(0.0).sqrt()),
        };
        let floor = self.config.floor * expected.abs() + self.config.epsilon;
        Some((expected, sd.max(floor)))
    }

    /// The bucket of `at` when the seasonal term is warm for it.
    fn seasonal(&self, at: Timestamp) -> Option<&Moments> {
        let first = self.first?;
        let seen = at.as_second().saturating_sub(first.as_second());
        let warm = self
            .config
            .warm_seasons
            .saturating_mul(self.config.season)
            .min(i64::MAX as u64) as i64;
        let bucket = self.buckets.get(self.config.bucket(at))?;
        (seen >= warm && bucket.n >= self.config.min_bucket_points).then_some(bucket)
    }

    /// A bucket's standard deviation, shrunk towards the pooled one of the warm buckets by
    /// [`PRIOR`] values' worth.
    fn shrunk_sd(&self, bucket: &Moments) -> f64 {
        let warm: Vec<f64> = self
            .buckets
            .iter()
            .filter(|b| b.n >= self.config.min_bucket_points)
            .map(|b| b.var)
            .collect();
        let pooled = warm.iter().sum::<f64>() / warm.len().max(1) as f64;
        let weight = (bucket.n as f64).min(self.config.memory * self.config.per_bucket());
        ((weight * bucket.var + PRIOR * pooled) / (weight + PRIOR))
            .max(0.0)
            .sqrt()
    }

    /// Learns the datapoint `value` at `at`, clamped to the band it is judged against (see the
    /// module docs). A value that is not finite is not learned.
    pub fn learn(&mut self, at: Timestamp, value: f64) {
        if !value.is_finite() {
            return;
        }
        let x = match self.expected(at) {
            Some((expected, sd)) => {
                let reach = self.config.clip * sd;
                value.max(expected - reach).min(expected + reach)
            }
            None => value,
        };
        let index = self.config.bucket(at);
        if let Some(bucket) = self.seasonal(at) {
            let residual = x - (self.level + bucket.mean);
            if self.config.level_memory > 0.0 {
                self.level += residual / (self.config.level_memory * self.config.per_season());
            }
        }
        let memory = self.config.memory;
        if let Some(bucket) = self.buckets.get_mut(index) {
            bucket.learn(x - self.level, memory * self.config.per_bucket());
        }
        self.all.learn(x, memory * self.config.per_season());
        self.count = self.count.saturating_add(1);
        self.first.get_or_insert(at);
    }

    /// Its state as JSON (the settings are not part of it: [`Model::from_json`] takes them).
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.count,
            "first": self.first.map(|t| t.to_string()),
            "level": self.level,
            "all": self.all.to_json(),
            "buckets": self.buckets.iter().map(|b| b.to_json()).collect::<Vec<_>>(),
        })
    }

    /// The model [`Model::to_json`] wrote, with the settings `config`; `None` when `value` is
    /// not such a state or has another number of buckets.
    pub fn from_json(config: Config, value: &Value) -> Option<Model> {
        let buckets = value["buckets"]
            .as_array()?
            .iter()
            .map(Moments::from_json)
            .collect::<Option<Vec<_>>>()?;
        if buckets.len() != config.buckets.max(1) {
            return None;
        }
        let first = match &value["first"] {
            Value::Null => None,
            other => Some(other.as_str()?.parse().ok()?),
        };
        let level = value["level"].as_f64().filter(|l| l.is_finite())?;
        Some(Model {
            config,
            count: value["count"].as_u64()?,
            first,
            all: Moments::from_json(&value["all"])?,
            level,
            buckets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::evaluate::{Datapoint, evaluate};
    use crate::alarms::{AlarmState, MetricAlarm, MissingData, Statistic};
    use jiff::SignedDuration;
    use std::collections::BTreeMap;

    /// Five-minute datapoints: 96 quarter-hour buckets, three datapoints each a day.
    const PERIOD: u64 = 300;
    const PER_DAY: i64 = (DAY / PERIOD) as i64;

    fn t0() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().expect("a timestamp")
    }

    fn at(i: i64) -> Timestamp {
        t0() + SignedDuration::from_secs(i * PERIOD as i64)
    }

    /// The daily pattern: a sinusoid from 10 at 03:00 to 100 at 15:00.
    fn pattern(i: i64) -> f64 {
        let hours = (i.rem_euclid(PER_DAY) as f64) * PERIOD as f64 / 3600.0;
        55.0 - 45.0 * ((hours - 3.0) / 24.0 * std::f64::consts::TAU).cos()
    }

    /// Deterministic noise of up to ±3 % of the value.
    fn noisy(i: i64) -> f64 {
        let hash = (i as u64).wrapping_mul(2_654_435_761) % 1000;
        pattern(i) * (1.0 + 0.06 * (hash as f64 / 1000.0 - 0.5))
    }

    fn trained(days: i64) -> Model {
        let mut model = Model::new(Config::for_period(PERIOD));
        for i in 0..days * PER_DAY {
            model.learn(at(i), noisy(i));
        }
        model
    }

    fn inside(band: Band, value: f64) -> bool {
        band.lower <= value && value <= band.upper
    }

    #[test]
    fn a_learned_daily_pattern_is_inside_the_band_and_spikes_are_outside() {
        let mut model = trained(8);
        let day = 8 * PER_DAY;
        for i in day..day + PER_DAY {
            let band = model.band(at(i), 2.0).expect("a band after eight days");
            assert!(
                inside(band, noisy(i)),
                "{} at {}: {band:?}",
                noisy(i),
                at(i)
            );
            assert!(!inside(band, 3.0 * pattern(i)), "3x at {}: {band:?}", at(i));
            model.learn(at(i), noisy(i));
        }
        // A flat band could not do it: the peak is 10x the trough, and both hours are normal.
        let trough = model.band(at(9 * PER_DAY + 36), 2.0).expect("a band");
        let peak = model.band(at(9 * PER_DAY + 180), 2.0).expect("a band");
        assert!(
            inside(trough, 10.0) && inside(peak, 100.0),
            "{trough:?} {peak:?}"
        );
        assert!(trough.upper < peak.lower, "{trough:?} {peak:?}");
        // A drop to 0 at the peak is below the band.
        assert!(
            peak.breached_by(Comparison::LessThanLowerThreshold, 0.0)
                && !peak.breached_by(Comparison::GreaterThanUpperThreshold, 0.0)
        );
    }

    #[test]
    fn warm_up_gives_no_band_then_a_flat_one_then_the_seasonal_one() {
        let config = Config::for_period(PERIOD);
        assert_eq!(config.buckets, 96);
        assert_eq!(Config::for_period(3600).buckets, 24);
        assert_eq!(Config::for_period(86_400).buckets, 1);
        assert_eq!(Config::for_period(86_400).min_points, 12);
        let mut model = Model::new(config);
        // The first day: no band.
        for i in 0..PER_DAY {
            assert_eq!(model.band(at(i), 2.0), None, "datapoint {i}");
            model.learn(at(i), noisy(i));
        }
        // Days 1 and 2: one band for every hour, from all the data, wide enough for the pattern.
        let (mean, sd) = model.expected(at(PER_DAY)).expect("a band");
        assert!((mean - 55.0).abs() < 5.0 && sd > 25.0, "{mean} {sd}");
        for i in PER_DAY..3 * PER_DAY {
            assert!(!model.is_seasonal(at(i)));
            let band = model.band(at(i), 2.0).expect("a band");
            assert!(
                inside(band, noisy(i)),
                "{} at {}: {band:?}",
                noisy(i),
                at(i)
            );
            model.learn(at(i), noisy(i));
        }
        // Day 3: seasonal.
        assert!(model.is_seasonal(at(3 * PER_DAY)));
        let (trough, _) = model.expected(at(3 * PER_DAY + 36)).expect("a band");
        assert!((trough - 10.0).abs() < 1.0, "{trough}");
    }

    #[test]
    fn a_flat_metric_gets_a_floor_rather_than_a_zero_width_band() {
        let mut model = Model::new(Config::for_period(PERIOD));
        for i in 0..4 * PER_DAY {
            model.learn(at(i), 100.0);
        }
        let band = model.band(at(4 * PER_DAY), 2.0).expect("a band");
        assert!(inside(band, 101.0) && inside(band, 99.0), "{band:?}");
        assert!(!inside(band, 150.0), "{band:?}");
        let mut zero = Model::new(Config::for_period(PERIOD));
        for i in 0..4 * PER_DAY {
            zero.learn(at(i), 0.0);
        }
        let band = zero.band(at(4 * PER_DAY), 2.0).expect("a band");
        assert!(inside(band, 0.0) && !inside(band, 1.0), "{band:?}");
    }

    #[test]
    fn one_spike_does_not_hide_the_next_one_a_day_later() {
        let mut model = trained(8);
        let spike = 8 * PER_DAY + 180;
        for i in 8 * PER_DAY..10 * PER_DAY {
            let value = if i == spike || i == spike + PER_DAY {
                3.0 * pattern(i)
            } else {
                noisy(i)
            };
            let band = model.band(at(i), 2.0).expect("a band");
            let anomalous = i == spike || i == spike + PER_DAY;
            assert_eq!(
                !inside(band, value),
                anomalous,
                "{value} at {}: {band:?}",
                at(i)
            );
            model.learn(at(i), value);
        }
    }

    /// How many datapoints of each day of `value` fall outside the band, learning each.
    fn outside_per_day(
        model: &mut Model,
        days: std::ops::Range<i64>,
        value: impl Fn(i64) -> f64,
    ) -> Vec<usize> {
        days.map(|day| {
            (day * PER_DAY..(day + 1) * PER_DAY)
                .filter(|i| {
                    let band = model.band(at(*i), 2.0).expect("a band");
                    model.learn(at(*i), value(*i));
                    !inside(band, value(*i))
                })
                .count()
        })
        .collect()
    }

    #[test]
    fn the_band_follows_a_lasting_shift_and_a_drift() {
        // From day 8 the metric is 30 % higher all day: an anomaly at first, normal from day 12.
        let mut model = trained(8);
        let outside = outside_per_day(&mut model, 8..16, |i| 1.3 * noisy(i));
        assert!(outside[0] > PER_DAY as usize / 2, "{outside:?}");
        assert!(outside[4..].iter().all(|n| *n == 0), "{outside:?}");
        // Growing by 1 % of the first days' values a day: hardly ever outside over two weeks.
        let mut model = Model::new(Config::for_period(PERIOD));
        let growing = |i: i64| noisy(i) * (1.0 + 0.01 * i as f64 / PER_DAY as f64);
        for i in 0..PER_DAY {
            model.learn(at(i), growing(i));
        }
        let outside = outside_per_day(&mut model, 1..15, growing);
        let total: usize = outside.iter().sum();
        assert!(total * 200 < 14 * PER_DAY as usize, "{outside:?}");
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let model = trained(4);
        let config = Config::for_period(PERIOD);
        let json = model.to_json();
        let back = Model::from_json(config, &json).expect("reads back");
        assert_eq!(back, model);
        assert_eq!(
            back.band(at(4 * PER_DAY), 2.0),
            model.band(at(4 * PER_DAY), 2.0)
        );
        // Through text the last bit of a float may change (serde_json parses fast, not exactly).
        let text = json.to_string();
        let reread: Value = serde_json::from_str(&text).expect("JSON");
        let reread = Model::from_json(config, &reread).expect("reads back");
        let (a, b) = (
            reread.band(at(4 * PER_DAY), 2.0).expect("a band"),
            model.band(at(4 * PER_DAY), 2.0).expect("a band"),
        );
        assert!((a.lower - b.lower).abs() < 1e-9 && (a.upper - b.upper).abs() < 1e-9);
        assert_eq!(Model::from_json(Config::for_period(3600), &json), None);
        assert_eq!(Model::from_json(config, &json!({"count": 1})), None);
    }

    fn band_alarm(comparison: Comparison, n: usize, m: usize) -> MetricAlarm {
        MetricAlarm {
            metric_name: "weir_queue_events_total".into(),
            dimensions: BTreeMap::new(),
            statistic: Statistic::Sum,
            period: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 0.0,
            comparison,
            treat_missing_data: MissingData::Missing,
        }
    }

    fn point(minute: i64, value: f64, band: Option<(f64, f64)>) -> Datapoint {
        Datapoint {
            at: t0() + SignedDuration::from_mins(minute),
            value: Some(value),
            band: band.map(|(lower, upper)| Band { lower, upper }),
        }
    }

    #[test]
    fn band_alarms_are_evaluated_and_worded_as_cloudwatch_words_them() {
        let either = band_alarm(Comparison::LessThanLowerOrGreaterThanUpperThreshold, 2, 2);
        let points = [
            point(0, 9.0, Some((1.0, 5.0))),
            point(1, 0.5, Some((2.0, 6.0))),
        ];
        let (state, reason) = evaluate(&either, AlarmState::Ok, &points);
        assert_eq!(state, AlarmState::Alarm);
        assert_eq!(
            reason,
            "Thresholds Crossed: 2 out of the last 2 datapoints [0.5 (01/01/26 00:01:00), 9.0 \
             (01/01/26 00:00:00)] were less than the lower thresholds [2.0, 1.0] or greater than \
             the upper thresholds [6.0, 5.0] (minimum 2 datapoints for OK -> ALARM transition)."
        );
        let above = band_alarm(Comparison::GreaterThanUpperThreshold, 2, 2);
        assert_eq!(evaluate(&above, AlarmState::Ok, &points).0, AlarmState::Ok);
        let one = band_alarm(Comparison::GreaterThanUpperThreshold, 1, 1);
        let (state, reason) = evaluate(&one, AlarmState::Ok, &points[..1]);
        assert_eq!(state, AlarmState::Alarm);
        assert_eq!(
            reason,
            "Thresholds Crossed: 1 out of the last 1 datapoints [9.0 (01/01/26 00:00:00)] was \
             greater than the upper thresholds [5.0] (minimum 1 datapoint for OK -> ALARM \
             transition)."
        );
        let (state, reason) = evaluate(
            &either,
            AlarmState::Alarm,
            &[point(0, 3.0, Some((1.0, 5.0)))],
        );
        assert_eq!(state, AlarmState::Ok);
        assert_eq!(
            reason,
            "Thresholds Crossed: 1 out of the last 2 datapoints [3.0 (01/01/26 00:00:00)] was \
             not less than the lower thresholds [1.0] or not greater than the upper thresholds \
             [5.0] (minimum 1 datapoint for ALARM -> OK transition)."
        );
        // Without a band (the model warming up) a datapoint counts as missing.
        let (state, reason) = evaluate(&one, AlarmState::Ok, &[point(0, 1e9, None)]);
        assert_eq!(state, AlarmState::InsufficientData);
        assert_eq!(reason, "Insufficient Data: 1 datapoint was unknown.");
    }
}
