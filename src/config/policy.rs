/*!
The optional VPC endpoint policy document (`endpoint.policy_file`).
*/

use std::path::{Path, PathBuf};

use serde::Serialize;

/// AWS limit for a VPC endpoint policy document, whitespace included (EC2 `ModifyVpcEndpoint`
/// `PolicyDocument`); checked on the minified text plink sends.
pub const MAX_POLICY_CHARS: usize = 20_480;

/// An endpoint policy read from disk and checked to be a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointPolicy {
    /// The file it was read from (resolved against the workflow file's directory).
    pub path: PathBuf,
    /// The document minified (insignificant whitespace removed, key order kept), as sent to AWS.
    pub json: String,
}

/// Reads and checks a policy file.
///
/// # Errors
/// A message if the file cannot be read, is not a JSON object, or is too large for AWS.
pub(crate) fn load_policy(path: &Path) -> Result<EndpointPolicy, String> {
    let text = std::fs::read_to_string(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => format!("policy file {} not found", path.display()),
        std::io::ErrorKind::InvalidData => {
            format!("policy file {} is not valid UTF-8", path.display())
        }
        _ => format!("cannot read policy file {}: {error}", path.display()),
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| format!("policy file {} is not valid JSON: {error}", path.display()))?;
    if !value.is_object() {
        return Err(format!(
            "policy file {} must contain a JSON object (an IAM policy document), found {}",
            path.display(),
            json_kind(&value)
        ));
    }
    let json = minify(&text);
    if json.chars().count() > MAX_POLICY_CHARS {
        return Err(format!(
            "policy file {} is {} characters minified; AWS allows at most {MAX_POLICY_CHARS}",
            path.display(),
            json.chars().count()
        ));
    }
    Ok(EndpointPolicy {
        path: path.to_owned(),
        json,
    })
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Removes whitespace outside strings from valid JSON. Unlike a round trip through
/// `serde_json::Value`, this keeps key order and number spelling exactly as written.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_order() {
        let json = "{\n  \"b\" : \"x y\\\" z\",\n  \"a\": [1, 2.50]\n}\n";
        assert_eq!(minify(json), r#"{"b":"x y\" z","a":[1,2.50]}"#);
    }
}
