//! Prometheus's harness re-runs every instant query with `@ <its time>`
//! added to each selector and subquery that has none (not inside a
//! subquery), at other evaluation times, and expects the same result: the
//! query has become step invariant. Queries calling a function whose
//! result depends on the evaluation time itself (`time()`, the date
//! functions, `timestamp`, `predict_linear`, and `step()`, `range()`,
//! `start()`, `end()`) are exempt, as are queries `promql-parser` cannot
//! print back.

use std::time::{Duration, SystemTime};

use promql_parser::parser::{self, AtModifier, Expr};

/// Functions whose result varies with the evaluation time even when their
/// arguments do not.
const UNSAFE_FUNCTIONS: [&str; 15] = [
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
    "step",
    "range",
    "start",
    "end",
];

/// The query pinned to `t` and the times to evaluate it at, if it applies.
pub fn variants(query: &str, t: i64) -> Option<(String, Vec<i64>)> {
    let mut expr = parser::parse(query).ok()?;
    let mut unsafe_call = false;
    pin(&mut expr, at(t), &mut unsafe_call, false);
    if unsafe_call {
        return None;
    }
    let pinned = expr.to_string();
    // What `promql-parser` prints must parse to the same thing.
    if parser::parse(&pinned).ok()? != expr {
        return None;
    }
    let times = if t == 0 {
        vec![0, 10, 100, 1000, 10000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    Some((pinned, times))
}

fn at(t: i64) -> AtModifier {
    let d = Duration::from_millis(t.unsigned_abs());
    AtModifier::At(if t >= 0 {
        SystemTime::UNIX_EPOCH + d
    } else {
        SystemTime::UNIX_EPOCH - d
    })
}

/// Sets `@` on every selector and subquery without one, outside subqueries.
fn pin(e: &mut Expr, at: AtModifier, unsafe_call: &mut bool, in_subquery: bool) {
    match e {
        Expr::VectorSelector(vs) if !in_subquery => {
            vs.at.get_or_insert(at);
        }
        Expr::MatrixSelector(ms) if !in_subquery => {
            ms.vs.at.get_or_insert(at);
        }
        Expr::Subquery(sq) => {
            if !in_subquery {
                sq.at.get_or_insert(at.clone());
            }
            pin(&mut sq.expr, at, unsafe_call, true);
        }
        Expr::Call(c) => {
            *unsafe_call |= UNSAFE_FUNCTIONS.contains(&c.func.name);
            for a in &mut c.args.args {
                pin(a, at.clone(), unsafe_call, in_subquery);
            }
        }
        Expr::Aggregate(a) => {
            pin(&mut a.expr, at.clone(), unsafe_call, in_subquery);
            if let Some(p) = &mut a.param {
                pin(p, at, unsafe_call, in_subquery);
            }
        }
        Expr::Binary(b) => {
            pin(&mut b.lhs, at.clone(), unsafe_call, in_subquery);
            pin(&mut b.rhs, at, unsafe_call, in_subquery);
        }
        Expr::Paren(p) => pin(&mut p.expr, at, unsafe_call, in_subquery),
        Expr::Unary(u) => pin(&mut u.expr, at, unsafe_call, in_subquery),
        _ => {}
    }
}

#[test]
fn pins_selectors_and_subqueries() {
    let (q, times) = variants("sum(rate(foo[5m])) + bar offset 1m", 60_000).unwrap();
    assert_eq!(q, "sum(rate(foo[5m] @ 60.000)) + bar @ 60.000 offset 1m");
    assert_eq!(times, vec![-600_000, 0, 12_000, 60_000, 600_000]);
    let (q, _) = variants("max_over_time(foo[5m:1m])", 0).unwrap();
    assert_eq!(q, "max_over_time(foo[5m:1m] @ 0.000)");
    assert!(variants("time() - foo", 0).is_none());
}
