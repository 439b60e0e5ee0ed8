//! The series index on small, hand-built sets, each selector checked
//! against the exact set of series it must return.

use sonde_tsdb::{LabelError, Labels, MatchOp, Matcher, SeriesIndex, SeriesRef};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).expect("valid labels")
}

/// Five series; refs 0..=4 in this order.
fn fixture() -> SeriesIndex {
    let mut index = SeriesIndex::new();
    let series = [
        labels(&[("__name__", "up"), ("job", "api"), ("instance", "a:9090")]),
        labels(&[("__name__", "up"), ("job", "web"), ("instance", "b:9090")]),
        labels(&[("__name__", "up"), ("job", "db")]),
        labels(&[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("path", "/x"),
        ]),
        labels(&[
            ("__name__", "http_requests_total"),
            ("job", "web"),
            ("path", "/y"),
        ]),
    ];
    for (expected, series) in series.iter().enumerate() {
        let (series_ref, created) = index.get_or_create(series).expect("refs left");
        assert_eq!((series_ref, created), (expected as SeriesRef, true));
    }
    index
}

fn select(index: &SeriesIndex, matchers: &[Matcher]) -> Vec<SeriesRef> {
    index.select(matchers).iter().collect()
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).expect("valid matcher")
}

#[test]
fn get_or_create_finds_existing_series() {
    let mut index = fixture();
    let again = labels(&[("job", "db"), ("__name__", "up")]);
    assert_eq!(index.get_or_create(&again), Ok((2, false)));
    assert_eq!(index.get(&again), Some(2));
    assert_eq!(index.labels(2), Some(&again));
    assert_eq!(index.len(), 5);
    assert_eq!(index.labels(99), None);
    assert_eq!(index.get(&labels(&[("job", "nope")])), None);
}

#[test]
fn empty_value_semantics() {
    let index = fixture();
    // `instance` is set on 0 and 1 only; `path` on 3 and 4 only.
    assert_eq!(select(&index, &[Matcher::eq("instance", "")]), [2, 3, 4]);
    assert_eq!(select(&index, &[Matcher::ne("instance", "")]), [0, 1]);
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "instance", ".*")]),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(select(&index, &[m(MatchOp::Re, "instance", ".+")]), [0, 1]);
    assert_eq!(
        select(&index, &[m(MatchOp::Nre, "instance", "a:9090")]),
        [1, 2, 3, 4]
    );
    assert_eq!(
        select(&index, &[m(MatchOp::Nre, "instance", ".+")]),
        [2, 3, 4]
    );
    assert_eq!(
        select(&index, &[m(MatchOp::Nre, "instance", ".*")]),
        [] as [SeriesRef; 0]
    );
    assert_eq!(select(&index, &[m(MatchOp::Re, "instance", "")]), [2, 3, 4]);
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "instance", "a.*|")]),
        [0, 2, 3, 4]
    );
}

#[test]
fn regexes_are_fully_anchored() {
    let index = fixture();
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "job", "ap")]),
        [] as [SeriesRef; 0]
    );
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "job", "pi")]),
        [] as [SeriesRef; 0]
    );
    assert_eq!(select(&index, &[m(MatchOp::Re, "job", "a.*")]), [0, 3]);
    assert_eq!(select(&index, &[m(MatchOp::Re, "job", ".*b")]), [1, 2, 4]);
    // `.` matches a newline too, as in Prometheus 3.
    assert!(m(MatchOp::Re, "x", "a.b").matches("a\nb"));
}

#[test]
fn metric_name_selection() {
    let index = fixture();
    assert_eq!(select(&index, &[Matcher::eq("__name__", "up")]), [0, 1, 2]);
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "__name__", "http_.*")]),
        [3, 4]
    );
    assert_eq!(select(&index, &[Matcher::ne("__name__", "up")]), [3, 4]);
}

#[test]
fn regex_alternation() {
    let index = fixture();
    // Literal alternation, looked up directly.
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "job", "api|db")]),
        [0, 2, 3]
    );
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "job", "db|api|none")]),
        [0, 2, 3]
    );
    assert_eq!(select(&index, &[m(MatchOp::Nre, "job", "api|db")]), [1, 4]);
    // Alternation with regex syntax in it, scanned.
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "job", "a.i|w.*")]),
        [0, 1, 3, 4]
    );
    assert_eq!(
        m(MatchOp::Re, "job", "api|db").literals(),
        Some(&["api".to_owned(), "db".to_owned()][..])
    );
    assert_eq!(m(MatchOp::Re, "job", "a.i|db").literals(), None);
}

#[test]
fn three_matchers() {
    let index = fixture();
    let up_api_or_web_with_instance = [
        Matcher::eq("__name__", "up"),
        m(MatchOp::Re, "job", "api|web"),
        Matcher::ne("instance", "b:9090"),
    ];
    assert_eq!(select(&index, &up_api_or_web_with_instance), [0]);
    let any_without_path_not_db = [
        Matcher::eq("path", ""),
        m(MatchOp::Nre, "job", "d.*"),
        m(MatchOp::Re, "__name__", ".+"),
    ];
    assert_eq!(select(&index, &any_without_path_not_db), [0, 1]);
    let contradictory = [
        Matcher::eq("job", "api"),
        Matcher::eq("job", "web"),
        Matcher::ne("path", ""),
    ];
    assert_eq!(select(&index, &contradictory), [] as [SeriesRef; 0]);
}

#[test]
fn only_negative_matchers() {
    let index = fixture();
    let selector = [Matcher::ne("job", "api"), m(MatchOp::Nre, "path", "/y")];
    assert_eq!(select(&index, &selector), [1, 2]);
    assert_eq!(select(&index, &[]), [0, 1, 2, 3, 4]);
}

#[test]
fn unknown_label_names() {
    let index = fixture();
    assert_eq!(
        select(&index, &[Matcher::eq("nope", "x")]),
        [] as [SeriesRef; 0]
    );
    assert_eq!(select(&index, &[Matcher::eq("nope", "")]), [0, 1, 2, 3, 4]);
    assert_eq!(select(&index, &[Matcher::ne("nope", "x")]), [0, 1, 2, 3, 4]);
    assert_eq!(
        select(&index, &[Matcher::ne("nope", "")]),
        [] as [SeriesRef; 0]
    );
    assert_eq!(
        select(&index, &[m(MatchOp::Re, "nope", ".+")]),
        [] as [SeriesRef; 0]
    );
    assert_eq!(
        select(&index, &[m(MatchOp::Nre, "nope", "x|y")]),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(index.label_values("nope").count(), 0);
    assert_eq!(index.postings("nope", "x"), None);
}

#[test]
fn label_names_and_values_are_sorted() {
    let index = fixture();
    let names: Vec<&str> = index.label_names().collect();
    assert_eq!(names, ["__name__", "instance", "job", "path"]);
    let jobs: Vec<&str> = index.label_values("job").collect();
    assert_eq!(jobs, ["api", "db", "web"]);
    let metrics: Vec<&str> = index.label_values("__name__").collect();
    assert_eq!(metrics, ["http_requests_total", "up"]);
    let api: Vec<SeriesRef> = index.postings("job", "api").expect("api").iter().collect();
    assert_eq!(api, [0, 3]);
    assert_eq!(index.all_postings().len(), 5);
}

#[test]
fn delete_removes_from_every_posting() {
    let mut index = fixture();
    let removed = index.delete(2).expect("series 2 exists");
    assert_eq!(removed, labels(&[("__name__", "up"), ("job", "db")]));
    assert_eq!(index.delete(2), None);
    assert_eq!(index.labels(2), None);
    assert_eq!(index.get(&removed), None);
    assert_eq!(index.len(), 4);
    assert_eq!(
        index.all_postings().iter().collect::<Vec<_>>(),
        [0, 1, 3, 4]
    );
    // `job="db"` had only series 2: the value is gone from the listings.
    assert_eq!(
        index.label_values("job").collect::<Vec<_>>(),
        ["api", "web"]
    );
    assert_eq!(index.postings("job", "db"), None);
    assert_eq!(select(&index, &[Matcher::eq("__name__", "up")]), [0, 1]);
    assert_eq!(select(&index, &[Matcher::eq("instance", "")]), [3, 4]);

    // Deleting the only series with `path` drops the name too.
    index.delete(3);
    index.delete(4);
    assert_eq!(
        index.label_names().collect::<Vec<_>>(),
        ["__name__", "instance", "job"]
    );

    // References are never reused: re-adding gets a new one.
    assert_eq!(index.get_or_create(&removed), Ok((5, true)));
}

#[test]
fn labels_validate_and_normalise() {
    let sorted = labels(&[("b", "2"), ("a", "1"), ("__name__", "x:y")]);
    assert_eq!(
        sorted.iter().collect::<Vec<_>>(),
        [("__name__", "x:y"), ("a", "1"), ("b", "2")]
    );
    assert_eq!(sorted.metric_name(), Some("x:y"));
    assert_eq!(sorted.get("b"), Some("2"));
    assert_eq!(sorted.get("c"), None);

    // An empty value is an absent label.
    let with_empty = labels(&[("a", "1"), ("b", ""), ("__name__", "x:y"), ("b", "2")]);
    assert_eq!(with_empty, sorted);
    assert_eq!(with_empty.stable_hash(), sorted.stable_hash());
    assert!(labels(&[("a", "")]).is_empty());

    // Values are any UTF-8.
    assert_eq!(labels(&[("a", "é\n\"}")]).get("a"), Some("é\n\"}"));

    for bad in ["", "1a", "a-b", "a:b", "a.b", "é"] {
        assert_eq!(
            Labels::new([(bad, "v")]),
            Err(LabelError::InvalidName(bad.to_owned())),
            "{bad:?}"
        );
    }
    for bad in ["1up", "up-1", "up{}"] {
        assert_eq!(
            Labels::new([("__name__", bad)]),
            Err(LabelError::InvalidMetricName(bad.to_owned())),
            "{bad:?}"
        );
    }
    assert_eq!(
        Labels::new([("a", "1"), ("a", "2")]),
        Err(LabelError::Duplicate("a".to_owned()))
    );
    let message = Labels::new([("a-b", "v")])
        .expect_err("invalid")
        .to_string();
    assert!(message.contains("\"a-b\""), "{message}");
}

#[test]
fn stable_hash_is_fixed_and_separates_sets() {
    // FNV-1a over `a 0xff 1 0xff`; pinned so that it never drifts.
    assert_eq!(labels(&[]).stable_hash(), 0xcbf2_9ce4_8422_2325);
    assert_eq!(labels(&[("a", "1")]).stable_hash(), 0xd3b9_7181_9376_d835);
    let ab = labels(&[("a", "bc")]).stable_hash();
    let abc = labels(&[("ab", "c")]).stable_hash();
    assert_ne!(ab, abc);
}

#[test]
fn invalid_regex_is_an_error_naming_the_label() {
    let err = Matcher::re("job", "(").expect_err("unbalanced");
    assert!(err.to_string().contains("\"job\""), "{err}");
}
