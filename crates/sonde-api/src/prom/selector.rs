//! `match[]` series selectors, parsed with `promql-parser` and turned into
//! the store's [`Matcher`]s.

use promql_parser::label::MatchOp as ParserOp;
use promql_parser::parser::{self, Expr};
use sonde_tsdb::{MatchOp, Matcher, METRIC_NAME};

use super::envelope::PromError;

/// One `match[]` value: a union of matcher sets (more than one only with
/// the `{a="1" or b="2"}` form).
pub fn parse(selector: &str) -> Result<Vec<Vec<Matcher>>, PromError> {
    let expr = parser::parse(selector).map_err(PromError::BadData)?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(PromError::BadData(format!(
            "invalid parameter \"match[]\": {selector:?} is not a series selector"
        )));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(PromError::BadData(format!(
            "invalid parameter \"match[]\": {selector:?} is not a series selector"
        )));
    }
    let name = vs.name.map(|n| Matcher::eq(METRIC_NAME, n));
    let groups = if vs.matchers.or_matchers.is_empty() {
        vec![vs.matchers.matchers]
    } else {
        vs.matchers.or_matchers
    };
    groups
        .into_iter()
        .map(|group| {
            let mut set = name.iter().cloned().collect::<Vec<_>>();
            for m in group {
                let op = match m.op {
                    ParserOp::Equal => MatchOp::Eq,
                    ParserOp::NotEqual => MatchOp::Ne,
                    ParserOp::Re(_) => MatchOp::Re,
                    ParserOp::NotRe(_) => MatchOp::Nre,
                };
                set.push(
                    Matcher::new(op, m.name, m.value)
                        .map_err(|e| PromError::BadData(e.to_string()))?,
                );
            }
            if set.iter().all(|m| m.matches("")) {
                return Err(PromError::BadData(
                    "match[] must contain at least one non-empty matcher".into(),
                ));
            }
            Ok(set)
        })
        .collect()
}

/// Every `match[]` value, each one's sets in order.
pub fn parse_all(selectors: &[&str]) -> Result<Vec<Vec<Matcher>>, PromError> {
    let mut sets = Vec::new();
    for s in selectors {
        sets.extend(parse(s)?);
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let sets = parse(r#"up{job="a",i=~"x.*"}"#).unwrap();
        assert_eq!(sets.len(), 1);
        let names: Vec<_> = sets[0]
            .iter()
            .map(|m| (m.name(), m.op(), m.value()))
            .collect();
        assert!(names.contains(&("__name__", MatchOp::Eq, "up")));
        assert!(names.contains(&("job", MatchOp::Eq, "a")));
        assert!(names.contains(&("i", MatchOp::Re, "x.*")));
        assert!(parse("rate(up[5m])").is_err());
        assert!(parse("up offset 5m").is_err());
        assert!(parse(r#"{a=""}"#).is_err());
        assert!(parse("up{").is_err());
    }
}
