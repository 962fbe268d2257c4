//! A small reader for the Prometheus / OpenMetrics text format: the samples of a scrape, each
//! with its name, labels and value. Comments (`# HELP`, `# TYPE`, `# EOF`), timestamps and
//! exemplars are skipped, and so is any line it cannot read, so that one odd family never hides
//! the others.

/// One sample line: `name{label="value",...} 1.5`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the metric is `family` followed by `suffix` (`_total`, `_sum`, or none), with or
    /// without a registry prefix (`authbench_...`).
    pub fn is(&self, family: &str, suffix: &str) -> bool {
        let Some(name) = self.name.strip_suffix(suffix) else {
            return false;
        };
        name == family
            || name
                .strip_suffix(family)
                .is_some_and(|prefix| prefix.ends_with('_'))
    }
}

/// Every readable sample in `text`, in order.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(inside)?;
        labels = parsed;
        rest = after;
    }
    // What follows the value (a timestamp, or ` # {...}` with an exemplar) is not needed.
    let value = parse_value(rest.split_ascii_whitespace().next()?)?;
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads `key="value",...}` and returns the labels and the text after the closing brace.
fn parse_labels(mut text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after_key) = text.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let (value, after_value) = parse_quoted(after_key.trim_start().strip_prefix('"')?)?;
        labels.push((key.to_owned(), value));
        text = after_value.trim_start();
        text = text.strip_prefix(',').unwrap_or(text);
    }
}

/// Reads a label value up to its closing quote, undoing `\\`, `\"` and `\n`.
fn parse_quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_with_escapes_and_values_with_trailers_are_read() {
        let samples = parse(
            "# HELP x_total A counter.\n\
             # TYPE x counter\n\
             x_total{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 12 1700000000\n\
             y_total{le=\"+Inf\"} 3 # {trace_id=\"abc\"} 1.0\n\
             z 1.5e-3\n\
             w{} NaN\n\
             \n\
             # EOF\n",
        );
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0].label("path"), Some("/a\"b\\c\nd"));
        assert_eq!(samples[0].label("code"), Some("200"));
        assert_eq!(samples[0].value, 12.0);
        assert_eq!(samples[1].label("le"), Some("+Inf"));
        assert_eq!(samples[1].value, 3.0);
        assert_eq!(samples[2].value, 0.0015);
        assert!(samples[3].value.is_nan());
    }

    #[test]
    fn unreadable_lines_are_skipped() {
        let samples = parse("ok 1\nbroken{a=\"1\" 2\n{a=\"1\"} 3\nnovalue\n9lives 4\nalso_ok 5\n");
        let names: Vec<&str> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ok", "also_ok"]);
    }

    #[test]
    fn family_matches_with_or_without_a_prefix() {
        let sample = parse("authbench_http_requests_total 1").remove(0);
        assert!(sample.is("http_requests", "_total"));
        assert!(!sample.is("http_requests", ""));
        assert!(!sample.is("requests_total_x", ""));
        assert!(!parse("xhttp_requests_total 1")[0].is("http_requests", "_total"));
    }
}
