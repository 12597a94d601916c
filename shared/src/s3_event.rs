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
    /// Not a .csv file.
    NotCsv,
    /// A folder placeholder.
    Folder,
}

/// Whether a decoded key is a request the workflow should take.
pub fn classify(key: &str, request_prefix: &str) -> Result<(), Skip> {
    if !key.starts_with(request_prefix) {
        return Err(Skip::OutsidePrefix);
    }
    if key.ends_with('/') {
        return Err(Skip::Folder);
    }
    if !key.to_ascii_lowercase().ends_with(".csv") {
        return Err(Skip::NotCsv);
    }
    Ok(())
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
    fn only_csv_files_under_the_request_prefix_are_requests() {
        assert_eq!(classify("requests/a.csv", "requests/"), Ok(()));
        assert_eq!(classify("requests/sub/A.CSV", "requests/"), Ok(()));
        assert_eq!(
            classify("work/x/part-000.csv", "requests/"),
            Err(Skip::OutsidePrefix)
        );
        assert_eq!(
            classify("receipts/x.json", "requests/"),
            Err(Skip::OutsidePrefix)
        );
        assert_eq!(classify("requests/a.txt", "requests/"), Err(Skip::NotCsv));
        assert_eq!(classify("requests/dir/", "requests/"), Err(Skip::Folder));
        assert_eq!(
            classify("requestsX/a.csv", "requests/"),
            Err(Skip::OutsidePrefix)
        );
    }
}
