//! `info(v, selector)`: adds to each series of `v` the data labels of the
//! info series (by default `target_info`) that share its identifying
//! labels (`instance`, `job`), as Prometheus's experimental `info()`.
//!
//! The info series are read with the usual lookback at the time the base
//! expression's selectors read (its `@` and offset included). The
//! selector's non-name matchers pick the info series and restrict the added
//! labels to those they name; when one of them rejects the empty value, a
//! series with no matching info series is dropped. Without a positive
//! `__name__` matcher only metrics named `*_info` are info series. Labels the series
//! already has are kept; two info metrics giving one label different values
//! is an error. Series that are themselves info series pass unchanged.

use std::collections::HashMap;

use promql_parser::label::{MatchOp, Matcher as PMatcher};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::Expr;
use sonde_tsdb::{is_stale, Labels, Matcher, METRIC_NAME};

use super::call::arg;
use super::selector::convert;
use super::{exec, Evaluator, Val};
use crate::rewrite::INFO_PLACEHOLDER_LABEL;
use crate::QueryError;

/// The labels that identify the target an info series describes.
const IDENTIFYING_LABELS: [&str; 2] = ["instance", "job"];

/// The info metric read when the selector names none.
const DEFAULT_INFO_METRIC: &str = "target_info";

impl Evaluator<'_> {
    pub(crate) fn info(&self, args: &[&Expr], t: i64) -> Result<Val, QueryError> {
        let base_expr = arg(args, 0)?;
        let base = self.eval_vector(base_expr, t)?;
        let at = self.reference_time(base_expr, t);
        let mut selector: Vec<PMatcher> = Vec::new();
        if let Some(Expr::VectorSelector(vs)) = args.get(1).copied() {
            selector.extend(vs.matchers.matchers.iter().cloned());
            if let Some(name) = &vs.name {
                selector.push(PMatcher::new(MatchOp::Equal, METRIC_NAME, name));
            }
        }
        selector.retain(|m| m.name != INFO_PLACEHOLDER_LABEL);
        let (mut name_matchers, data_matchers): (Vec<PMatcher>, Vec<PMatcher>) =
            selector.into_iter().partition(|m| m.name == METRIC_NAME);
        if name_matchers.is_empty() {
            name_matchers.push(PMatcher::new(
                MatchOp::Equal,
                METRIC_NAME,
                DEFAULT_INFO_METRIC,
            ));
        }
        let data_names: Vec<&str> = data_matchers.iter().map(|m| m.name.as_str()).collect();
        let required = data_matchers.iter().any(|m| !m.is_match(""));
        // A series is an info series itself when it matches the name
        // matchers, at least one of which is positive.
        let positive_name = name_matchers
            .iter()
            .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Re(_)));
        let mut infos = self.info_series(&name_matchers, &data_matchers, at)?;
        // Without a positive name matcher only `*_info` metrics qualify.
        if !positive_name {
            infos.retain(|l| l.metric_name().is_some_and(|n| n.ends_with("_info")));
        }

        let mut out = Vec::with_capacity(base.len());
        for s in base {
            let name = s.labels.metric_name().unwrap_or("");
            if positive_name && name_matchers.iter().all(|m| m.is_match(name)) {
                out.push(s);
                continue;
            }
            let has_identity = IDENTIFYING_LABELS.iter().any(|l| s.labels.get(l).is_some());
            let matching = infos.iter().filter(|info| {
                has_identity
                    && IDENTIFYING_LABELS
                        .iter()
                        .all(|l| info.get(l) == s.labels.get(l))
            });
            let mut added: HashMap<&str, &str> = HashMap::new();
            let mut found = false;
            for info in matching {
                found = true;
                for (n, v) in info.iter() {
                    let wanted = data_names.is_empty() || data_names.contains(&n);
                    if n == METRIC_NAME
                        || IDENTIFYING_LABELS.contains(&n)
                        || !wanted
                        || s.labels.get(n).is_some()
                    {
                        continue;
                    }
                    if let Some(prev) = added.insert(n, v) {
                        if prev != v {
                            return Err(exec(format!(
                                "conflicting label: {n} has values {prev:?} and {v:?} in different info metrics"
                            )));
                        }
                    }
                }
            }
            if !found && required {
                continue;
            }
            let mut labels = s.labels.clone();
            for (n, v) in added {
                labels = labels.with(n, v);
            }
            out.push(super::Sample { labels, ..s });
        }
        Ok(Val::Vector(out))
    }

    /// The info series current at `at`; of those of one metric and target,
    /// the one with the latest sample.
    fn info_series(
        &self,
        names: &[PMatcher],
        data: &[PMatcher],
        at: i64,
    ) -> Result<Vec<Labels>, QueryError> {
        let mut matchers: Vec<Matcher> = convert(names)?;
        matchers.extend(convert(data)?);
        let mint = at.saturating_sub(self.lookback).saturating_add(1);
        let selected = self.store.select(&matchers, mint, at).map_err(exec)?;
        let mut latest: HashMap<Vec<Option<String>>, (i64, Labels)> = HashMap::new();
        for (labels, points) in selected {
            let Some(&(ts, v)) = points.iter().rfind(|(ts, _)| *ts >= mint && *ts <= at) else {
                continue;
            };
            if is_stale(v) {
                continue;
            }
            let key: Vec<Option<String>> = std::iter::once(METRIC_NAME)
                .chain(IDENTIFYING_LABELS)
                .map(|l| labels.get(l).map(str::to_string))
                .collect();
            match latest.get(&key) {
                Some((prev, _)) if *prev >= ts => {}
                _ => {
                    latest.insert(key, (ts, labels));
                }
            }
        }
        Ok(latest.into_values().map(|(_, l)| l).collect())
    }

    /// The time the selectors of `expr`, evaluated at `t`, read at.
    fn reference_time(&self, expr: &Expr, t: i64) -> i64 {
        match expr {
            Expr::VectorSelector(vs) => self.modified_time(vs.at.as_ref(), vs.offset.as_ref(), t),
            Expr::MatrixSelector(ms) => {
                self.modified_time(ms.vs.at.as_ref(), ms.vs.offset.as_ref(), t)
            }
            Expr::Subquery(sq) => self.reference_time(
                &sq.expr,
                self.modified_time(sq.at.as_ref(), sq.offset.as_ref(), t),
            ),
            Expr::Paren(p) => self.reference_time(&p.expr, t),
            Expr::Unary(u) => self.reference_time(&u.expr, t),
            Expr::Aggregate(a) => self.reference_time(&a.expr, t),
            Expr::Binary(b) => {
                if is_series(&b.lhs) {
                    self.reference_time(&b.lhs, t)
                } else {
                    self.reference_time(&b.rhs, t)
                }
            }
            Expr::Call(c) => match c.args.args.iter().find(|a| is_series(a)) {
                Some(a) => self.reference_time(a, t),
                None => t,
            },
            _ => t,
        }
    }
}

/// Whether an expression yields series (an instant or range vector).
fn is_series(expr: &Expr) -> bool {
    matches!(expr.value_type(), ValueType::Vector | ValueType::Matrix)
}
