//! Which uploaded objects are requests, and how S3 event keys decode.

/// Decodes an S3 event key: `+` is a space and `%XX` a byte (S3 form-encodes keys in events).
pub fn decode_key(raw: &str) -> Result<String, String> {
    let plus_decoded = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_decoded)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| "the object key is not valid UTF-8 once decoded".to_string())
}

/// Why an object does not start a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Outside the request prefix (e.g. the workflow's own work objects or receipts).
    OutsidePrefix,
    /// An empty folder placeholder (a key ending in `/` with no bytes, as the S3 console's
    /// "Create folder" makes): it holds no request.
    Folder,
}

/// Whether a decoded key (of an object of `size` bytes) is a request the workflow takes. Every
/// object under the prefix is, whatever its name: one that is not a `.csv` file is rejected by
/// the workflow with a receipt that says so, never ignored in silence.
pub fn classify(key: &str, size: u64, request_prefix: &str) -> Result<(), Skip> {
    if !key.starts_with(request_prefix) {
        return Err(Skip::OutsidePrefix);
    }
    if key.ends_with('/') && size == 0 {
        return Err(Skip::Folder);
    }
    Ok(())
}

/// Whether a key names a CSV file (`.csv` in any case: `users.CSV` is one).
pub fn is_csv(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() >= 4 && b[b.len() - 4..].eq_ignore_ascii_case(b".csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_like_s3_encodes_them() {
        assert_eq!(
            decode_key("requests/my+file.csv").unwrap(),
            "requests/my file.csv"
        );
        assert_eq!(decode_key("requests%2Fa.csv").unwrap(), "requests/a.csv");
        assert_eq!(
            decode_key("requests/%C3%BCber%2B50%25.csv").unwrap(),
            "requests/über+50%.csv"
        );
        assert!(decode_key("requests/%FF.csv").is_err());
    }

    #[test]
    fn every_object_under_the_request_prefix_is_a_request_but_an_empty_folder() {
        assert_eq!(classify("requests/a.csv", 5, "requests/"), Ok(()));
        assert_eq!(classify("requests/sub/A.CSV", 5, "requests/"), Ok(()));
        // Not a CSV file: still a request (the workflow rejects it visibly).
        assert_eq!(classify("requests/a.txt", 5, "requests/"), Ok(()));
        assert_eq!(classify("requests/a.csv", 0, "requests/"), Ok(()));
        assert_eq!(
            classify("work/x/part-000.csv", 5, "requests/"),
            Err(Skip::OutsidePrefix)
        );
        assert_eq!(
            classify("receipts/x.json", 5, "requests/"),
            Err(Skip::OutsidePrefix)
        );
        assert_eq!(classify("requests/dir/", 0, "requests/"), Err(Skip::Folder));
        assert_eq!(classify("requests/dir/", 3, "requests/"), Ok(()));
        assert_eq!(
            classify("requestsX/a.csv", 5, "requests/"),
            Err(Skip::OutsidePrefix)
        );
    }

    #[test]
    fn csv_names_in_any_case() {
        for yes in [
            "requests/a.csv",
            "requests/b.CSV",
            "requests/c.Csv",
            "x.csv",
        ] {
            assert!(is_csv(yes), "{yes}");
        }
        for no in [
            "requests/a.txt",
            "requests/a.csv.gz",
            "requests/csv",
            "requests/é.cs",
            "é",
            "",
        ] {
            assert!(!is_csv(no), "{no}");
        }
    }
}
