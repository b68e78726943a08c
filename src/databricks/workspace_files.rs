//! Workspace files (Workspace API 2.0, `/api/2.0/workspace/*`), on the workspace's host: what
//! `plink verify` needs to put its task where a one-time run can start it, and to take it away
//! again (issue #15; `localstack/CONTRACT.md` "Verify task").

use serde::Deserialize;
use serde_json::json;

use super::client::ApiRequest;
use super::error::DatabricksError;
use super::sql::WorkspaceClient;

const MKDIRS: &str = "/api/2.0/workspace/mkdirs";
const IMPORT: &str = "/api/2.0/workspace/import";
const DELETE: &str = "/api/2.0/workspace/delete";
const ME: &str = "/api/2.0/preview/scim/v2/Me";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Me {
    user_name: String,
}

impl WorkspaceClient {
    /// The caller's home folder: `/Users/<application id>` for an OAuth service principal (its
    /// workspace user name is its application id), else `/Users/<userName>` of SCIM `Me`.
    /// Retried.
    ///
    /// # Errors
    /// The server's error (PAT only: the SCIM `Me` read).
    pub async fn home_folder(&self) -> Result<String, DatabricksError> {
        if let Some(id) = self.client_id() {
            return Ok(format!("/Users/{id}"));
        }
        let me: Me = self.call(ApiRequest::get(ME.into())).await?;
        Ok(format!("/Users/{}", me.user_name))
    }

    /// Makes a folder and its parents (`POST …/workspace/mkdirs`); an existing folder is fine.
    /// Retried: making it twice changes nothing.
    ///
    /// # Errors
    /// The server's error (`ResourceAlreadyExists` when a file has that path).
    pub async fn mkdirs(&self, path: &str) -> Result<(), DatabricksError> {
        let request = ApiRequest::post_replayable(MKDIRS.into(), json!({ "path": path }));
        self.send(request).await.map(drop)
    }

    /// Writes `content` as a workspace **file** at `path` (`POST …/workspace/import`,
    /// `format: AUTO`, `overwrite: true`). `AUTO` keeps a `.py` without the `Databricks notebook
    /// source` header a file; `SOURCE` would make a notebook, which a `spark_python_task` cannot
    /// run (CONTRACT.md "Verify task"). Retried: the same content written twice is one file.
    ///
    /// # Errors
    /// The server's error (`NotFound` when the folder is missing).
    pub async fn import_file(&self, path: &str, content: &[u8]) -> Result<(), DatabricksError> {
        let body = json!({
            "path": path,
            "content": base64(content),
            "format": "AUTO",
            "overwrite": true,
        });
        self.send(ApiRequest::post_replayable(IMPORT.into(), body))
            .await
            .map(drop)
    }

    /// Deletes `path` (`POST …/workspace/delete`, recursively for a folder). Already gone is
    /// success. Retried.
    ///
    /// # Errors
    /// The server's error.
    pub async fn delete_path(&self, path: &str, recursive: bool) -> Result<(), DatabricksError> {
        let body = json!({ "path": path, "recursive": recursive });
        match self
            .send(ApiRequest::post_replayable(DELETE.into(), body))
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4), what `import` takes as `content`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }
}
