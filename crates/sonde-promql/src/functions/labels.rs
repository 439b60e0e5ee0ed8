//! `label_replace` and `label_join` on one label set.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::T_EQL_REGEX;
use sonde_tsdb::{is_valid_label_name, Labels};

/// `labels` with label `dst` set to `value` (removed when empty).
fn with_label(labels: &Labels, dst: &str, value: String) -> Result<Labels, String> {
    let pairs = labels
        .iter()
        .filter(|&(name, _)| name != dst)
        .map(|(name, v)| (name.to_owned(), v.to_owned()))
        .chain(std::iter::once((dst.to_owned(), value)));
    Labels::new(pairs).map_err(|e| e.to_string())
}

/// `label_replace(v, dst, replacement, src, regex)` on one series: when
/// `regex` matches the whole value of `src` (empty when absent), `dst` is
/// set to `replacement` with `$1`, `${name}` expanded as Go's
/// `Regexp.Expand` does; an empty result removes `dst`. Otherwise the labels
/// are unchanged.
///
/// Errors, with Prometheus's texts: an invalid regex, an invalid `dst`.
pub(crate) fn label_replace(
    labels: &Labels,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
) -> Result<Labels, String> {
    // `promql-parser` anchors the pattern as `^(?:...)$` and tolerates Go's
    // literal `{`; `(?s:...)` lets `.` match newlines as in Prometheus.
    let invalid_regex = || format!("invalid regular expression in label_replace(): {regex}");
    let matcher = Matcher::new_matcher(T_EQL_REGEX, src.to_owned(), format!("(?s:{regex})"))
        .map_err(|_| invalid_regex())?;
    let MatchOp::Re(re) = matcher.op else {
        return Err(invalid_regex());
    };
    if !is_valid_label_name(dst) {
        return Err(format!(
            "invalid destination label name in label_replace(): {dst}"
        ));
    }
    let src_value = labels.get(src).unwrap_or("");
    let Some(captures) = re.captures(src_value) else {
        return Ok(labels.clone());
    };
    let mut value = String::new();
    captures.expand(replacement, &mut value);
    with_label(labels, dst, value)
}

/// `label_join(v, dst, separator, src...)` on one series: `dst` is set to
/// the values of `srcs` (empty when absent) joined by `sep`; an empty
/// result removes `dst`.
///
/// Errors, with Prometheus's texts: an invalid source or `dst` name.
pub(crate) fn label_join(
    labels: &Labels,
    dst: &str,
    sep: &str,
    srcs: &[&str],
) -> Result<Labels, String> {
    if let Some(src) = srcs.iter().find(|src| !is_valid_label_name(src)) {
        return Err(format!("invalid source label name in label_join(): {src}"));
    }
    if !is_valid_label_name(dst) {
        return Err(format!(
            "invalid destination label name in label_join(): {dst}"
        ));
    }
    let value = srcs
        .iter()
        .map(|src| labels.get(src).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(sep);
    with_label(labels, dst, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    fn metric() -> Labels {
        l(&[
            ("__name__", "testmetric"),
            ("src", "source-value-10"),
            ("dst", "original-destination-value"),
        ])
    }

    #[test]
    fn replace_full_match_with_groups() {
        let out = label_replace(
            &metric(),
            "dst",
            "destination-value-$1",
            "src",
            "source-value-(.*)",
        );
        assert_eq!(out.unwrap().get("dst"), Some("destination-value-10"));
        let out = label_replace(&metric(), "dst", "$1-value-$2", "src", "(.*)-value-(.*)");
        assert_eq!(out.unwrap().get("dst"), Some("source-value-10"));
        let out = label_replace(
            &metric(),
            "dst",
            "${kind}+$1x",
            "src",
            "(?P<kind>[a-z]+)-.*",
        );
        // `$1x` names the absent group "1x": empty, as in Go.
        assert_eq!(out.unwrap().get("dst"), Some("source+"));
        let out = label_replace(&metric(), "new", "$$1", "src", ".*");
        assert_eq!(out.unwrap().get("new"), Some("$1"));
    }

    #[test]
    fn replace_without_match_keeps_labels() {
        // Substring matches do not count: the regex is anchored.
        let out = label_replace(&metric(), "dst", "x-$1", "src", "value-(.*)").unwrap();
        assert_eq!(out, metric());
        let out = label_replace(
            &metric(),
            "dst",
            "x-$1",
            "nonexistent-src",
            "source-value-(.*)",
        );
        assert_eq!(out.unwrap(), metric());
        let out = label_replace(&metric(), "dst", "x-$1", "src", "non-matching-regex");
        assert_eq!(out.unwrap(), metric());
    }

    #[test]
    fn replace_empty_source_and_result() {
        let out = label_replace(&metric(), "dst", "value-$1", "nonexistent-src", "(.*)");
        assert_eq!(out.unwrap().get("dst"), Some("value-"));
        let out = label_replace(&metric(), "dst", "", "dst", ".*").unwrap();
        assert_eq!(out.get("dst"), None);
        assert_eq!(out.len(), 2);
        // `.` matches newlines.
        let nl = l(&[("a", "x\ny")]);
        let out = label_replace(&nl, "b", "$1", "a", "(.*)").unwrap();
        assert_eq!(out.get("b"), Some("x\ny"));
    }

    #[test]
    fn replace_errors() {
        let err = label_replace(&metric(), "dst", "value-$1", "src", "(.*").unwrap_err();
        assert_eq!(err, "invalid regular expression in label_replace(): (.*");
        let err = label_replace(&metric(), "\u{ff}", "", "src", "(.*)").unwrap_err();
        assert_eq!(
            err,
            "invalid destination label name in label_replace(): \u{ff}"
        );
        // Go accepts a literal `{`.
        let out = label_replace(&metric(), "dst", "ok", "src", "source{x}|source-value-10");
        assert_eq!(out.unwrap().get("dst"), Some("ok"));
    }

    #[test]
    fn join() {
        let m = l(&[("src", "a"), ("src1", "b"), ("src2", "c"), ("dst", "orig")]);
        let out = label_join(&m, "dst", "-", &["src", "src1", "src2"]).unwrap();
        assert_eq!(out.get("dst"), Some("a-b-c"));
        let out = label_join(&m, "dst", "-", &["src", "src3", "src1"]).unwrap();
        assert_eq!(out.get("dst"), Some("a--b"));
        let out = label_join(&m, "dst", "", &["emptysrc", "emptysrc1"]).unwrap();
        assert_eq!(out.get("dst"), None);
        let out = label_join(&m, "dst", ", ", &[]).unwrap();
        assert_eq!(out.get("dst"), None);
        let out = label_join(&m, "new", ", ", &["src", "src1"]).unwrap();
        assert_eq!(out.get("new"), Some("a, b"));
        assert_eq!(out.get("dst"), Some("orig"));
    }

    #[test]
    fn join_errors() {
        let m = l(&[("a", "b")]);
        let err = label_join(&m, "d", "", &["ok", "1bad"]).unwrap_err();
        assert_eq!(err, "invalid source label name in label_join(): 1bad");
        let err = label_join(&m, "", "", &["a"]).unwrap_err();
        assert_eq!(err, "invalid destination label name in label_join(): ");
        // A metric name the store cannot hold is an error, not a panic.
        assert!(label_join(&m, "__name__", "", &["x"]).is_ok());
        assert!(label_join(&l(&[("a", "1-2")]), "__name__", "", &["a"]).is_err());
    }
}
