//! Helm provenance files (`helm package --sign`), read minimally: an OpenPGP cleartext
//! signed message whose body is the chart's `Chart.yaml`, a `...` line, and a `files:`
//! section mapping the `.tgz` file name to `sha256:<hex>`. The signature itself is not
//! verified (that needs the signer's key); the recorded checksum must match the chart.

use serde_json::Value;

const BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const SIG_BEGIN: &str = "-----BEGIN PGP SIGNATURE-----";
const SIG_END: &str = "-----END PGP SIGNATURE-----";

/// What a provenance file says.
#[derive(Debug)]
pub struct Provenance {
    /// The signed `Chart.yaml`, as JSON.
    pub chart: Value,
    /// `files:`: file name → `sha256:<hex>`, in order.
    pub files: Vec<(String, String)>,
}

/// Parse a provenance file.
pub fn parse(text: &str) -> Result<Provenance, String> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let Some(rest) = text.strip_prefix(BEGIN) else {
        return Err(format!("a provenance file must start with {BEGIN}"));
    };
    let mut lines = rest.lines();
    if lines.next().is_some_and(|l| !l.trim().is_empty()) {
        return Err(format!("{BEGIN} must be a line of its own"));
    }
    // Armor headers (`Hash: SHA512`) up to the first empty line.
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        if !line.contains(": ") {
            return Err(format!(
                "the signed message's header line {line:?} is not `Name: value`"
            ));
        }
    }
    let mut body: Vec<&str> = Vec::new();
    let mut signed = false;
    for line in lines.by_ref() {
        if line == SIG_BEGIN {
            signed = true;
            break;
        }
        // Dash-escaped lines (RFC 4880 §7.1).
        body.push(line.strip_prefix("- ").unwrap_or(line));
    }
    if !signed {
        return Err(format!("the signed message has no {SIG_BEGIN} block"));
    }
    if !lines.any(|l| l == SIG_END) {
        return Err(format!("the signature block does not end with {SIG_END}"));
    }
    let body = body.join("\n") + "\n";
    let Some((chart, files)) = body.split_once("\n...\n") else {
        return Err(
            "the signed message must hold Chart.yaml, a `...` line and a files: section".into(),
        );
    };
    let chart = crate::yaml::to_json(chart)
        .map_err(|e| format!("the signed Chart.yaml is not YAML: {e}"))?;
    if !chart.is_object() {
        return Err("the signed Chart.yaml is not a mapping of fields".into());
    }
    let files = crate::yaml::to_json(files)
        .map_err(|e| format!("the signed files: section is not YAML: {e}"))?;
    let Some(map) = files.get("files").and_then(Value::as_object) else {
        return Err("the signed message has no files: section naming the chart archive".into());
    };
    let mut out = Vec::new();
    for (name, sum) in map {
        let Some(sum) = sum.as_str() else {
            return Err(format!(
                "files: {name:?} must map to a sha256:<hex> checksum"
            ));
        };
        out.push((name.clone(), sum.to_string()));
    }
    Ok(Provenance { chart, files: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\napiVersion: v2\nmaintainers:\n- - name: me\nname: mychart\nversion: 0.1.0\n\n...\nfiles:\n  mychart-0.1.0.tgz: sha256:abc\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQBQJc\n=YgnR\n-----END PGP SIGNATURE-----\n";

    #[test]
    fn a_helm_provenance_file_is_read() {
        let p = parse(SAMPLE).unwrap();
        assert_eq!(p.chart["name"], "mychart");
        assert_eq!(p.chart["maintainers"][0]["name"], "me");
        assert_eq!(
            p.files,
            [("mychart-0.1.0.tgz".to_string(), "sha256:abc".to_string())]
        );
    }

    #[test]
    fn broken_provenance_files_are_refused() {
        assert!(parse("hello").unwrap_err().contains("must start"));
        let unsigned = SAMPLE.split(SIG_BEGIN).next().unwrap();
        assert!(
            parse(unsigned)
                .unwrap_err()
                .contains("no -----BEGIN PGP SIGNATURE")
        );
        let no_files = SAMPLE.replace("...\n", "");
        assert!(parse(&no_files).is_err());
    }
}
