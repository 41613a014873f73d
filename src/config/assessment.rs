//! `[assessment]`: the score weights of the assessment (考核), validated, or the defaults; and
//! an `assessment` schedule's `period`.

use super::error::Problem;
use super::load::Validator;
use super::model::{AssessPeriod, AssessmentWeights, ScheduleKind};
use super::raw::{RawAssessment, S};
use toml::Spanned;

/// More points than any scoring scheme gives one part; a weight above it is a typo (`400`
/// for `40`), not a choice.
const MAX_WEIGHT: f64 = 1000.0;

impl Validator<'_> {
    /// The weights the config writes, each falling back to its default.
    pub(super) fn assessment(&mut self, raw: Option<&RawAssessment>) -> AssessmentWeights {
        let defaults = AssessmentWeights::default();
        let Some(raw) = raw else {
            return defaults;
        };
        let weights = AssessmentWeights {
            done_rate: self.weight(raw.done_rate.as_ref(), defaults.done_rate),
            on_time_rate: self.weight(raw.on_time_rate.as_ref(), defaults.on_time_rate),
            report_rate: self.weight(raw.report_rate.as_ref(), defaults.report_rate),
            overdue_penalty: self.weight(raw.overdue_penalty.as_ref(), defaults.overdue_penalty),
            rejected_penalty: self.weight(raw.rejected_penalty.as_ref(), defaults.rejected_penalty),
        };
        let written = [&raw.done_rate, &raw.on_time_rate, &raw.report_rate];
        let all_zero = weights.done_rate + weights.on_time_rate + weights.report_rate == 0.0;
        if all_zero && let Some(span) = written.iter().find_map(|w| w.as_ref().map(|w| w.span())) {
            let (message, help) = self.locale.pick(
                (
                    "三项得分权重都为 0，所有单位都将得 0 分",
                    "done_rate、on_time_rate、report_rate 至少一项应大于 0（默认 40、30、30）",
                ),
                (
                    "all three rate weights are 0, so every unit would score 0",
                    "give at least one of done_rate, on_time_rate, report_rate a weight above 0 \
                     (the defaults are 40, 30 and 30)",
                ),
            );
            self.problem(Problem::new(span, message).help(help));
        }
        weights
    }

    fn weight(&mut self, value: Option<&Spanned<f64>>, default: f64) -> f64 {
        let Some(v) = value else {
            return default;
        };
        let w = *v.get_ref();
        if w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w) {
            return w;
        }
        let (message, help) = self.locale.pick(
            (
                format!("权重 `{w}` 无效"),
                "请写 0 到 1000 之间的分值，如 done_rate = 40、overdue_penalty = 2",
            ),
            (
                format!("`{w}` is not a weight"),
                "write points between 0 and 1000, such as done_rate = 40 or overdue_penalty = 2",
            ),
        );
        self.problem(Problem::new(v.span(), message).help(help));
        default
    }

    /// A schedule's `period`: only an assessment schedule takes one.
    pub(super) fn assess_period(
        &mut self,
        value: Option<&S>,
        kind: Option<ScheduleKind>,
    ) -> AssessPeriod {
        let Some(s) = value else {
            return AssessPeriod::default();
        };
        let text = self.text(s);
        if kind.is_some_and(|k| k != ScheduleKind::Assessment) {
            let (message, help) = self.locale.pick(
                (
                    "只有 kind = \"assessment\" 的计划才有 period",
                    "删除此键，或把 kind 改为 \"assessment\"",
                ),
                (
                    "only a schedule of kind \"assessment\" takes a period",
                    "remove the key, or make the schedule's kind \"assessment\"",
                ),
            );
            self.problem(Problem::new(s.span(), message).help(help));
        }
        match text.trim() {
            "month" | "monthly" => AssessPeriod::Month,
            "quarter" | "quarterly" => AssessPeriod::Quarter,
            other => {
                let (message, help) = self.locale.pick(
                    (
                        format!("`{other}` 不是有效的考核周期"),
                        "可写 period = \"month\"（上一个自然月）或 \"quarter\"（上一个季度）",
                    ),
                    (
                        format!("`{other}` is not an assessment period"),
                        "write period = \"month\" (the last calendar month) or \"quarter\" (the last quarter)",
                    ),
                );
                self.problem(Problem::new(s.span(), message).help(help));
                AssessPeriod::default()
            }
        }
    }
}
