//! Where the lake lives: a local folder or an object-store URL.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use url::Url;

use crate::error::{LakeError, Result};

/// A handle on the lake root. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    prefix: StorePath,
    display: String,
}

impl Lake {
    /// Opens the lake at `root`: a folder (created if missing) or a URL such as
    /// `file:///data/lake` (`s3://bucket/lake` needs the `s3` feature).
    pub fn open(root: &str) -> Result<Self> {
        let url = if root.contains("://") {
            Url::parse(root).map_err(|e| LakeError::BadRoot {
                root: root.into(),
                reason: e.to_string(),
            })?
        } else {
            std::fs::create_dir_all(root).map_err(|source| LakeError::CreateDir {
                path: root.into(),
                source,
            })?;
            let abs = std::fs::canonicalize(root).map_err(|source| LakeError::CreateDir {
                path: root.into(),
                source,
            })?;
            Url::from_directory_path(&abs).map_err(|()| LakeError::BadRoot {
                root: root.into(),
                reason: "not an absolute folder path".into(),
            })?
        };
        let bad_root = |reason: String| LakeError::BadRoot {
            root: root.into(),
            reason,
        };
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| bad_root("file URL without a local path".into()))?;
            std::fs::create_dir_all(&path).map_err(|source| LakeError::CreateDir {
                path: path.clone(),
                source,
            })?;
            // Rooted at the lake, so that a delete also removes the folders
            // it empties (a run's old state folder, a rewritten partition's)
            // and never a folder above the lake.
            let store = LocalFileSystem::new_with_prefix(&path)
                .map_err(|e| bad_root(e.to_string()))?
                .with_automatic_cleanup(true);
            return Ok(Self {
                store: Arc::new(store),
                prefix: StorePath::default(),
                display: url.to_string(),
            });
        }
        let (store, prefix) = object_store::parse_url(&url).map_err(|e| bad_root(e.to_string()))?;
        Ok(Self {
            store: Arc::from(store),
            prefix,
            display: url.to_string(),
        })
    }

    /// The root as a URL, for messages and summaries.
    pub fn url(&self) -> &str {
        &self.display
    }

    /// The local folder of the lake, when it is one.
    pub fn local_path(&self) -> Option<std::path::PathBuf> {
        Url::parse(&self.display).ok()?.to_file_path().ok()
    }

    pub(crate) fn location(&self, relative: &str) -> StorePath {
        let relative = StorePath::from(relative);
        StorePath::from_iter(self.prefix.parts().chain(relative.parts()))
    }

    /// Writes one whole object; it becomes visible at once or not at all.
    pub async fn put(&self, relative: &str, bytes: Bytes) -> Result<()> {
        let location = self.location(relative);
        self.store
            .put(&location, PutPayload::from_bytes(bytes))
            .await
            .map_err(|source| LakeError::Store {
                location: location.to_string(),
                source,
            })?;
        Ok(())
    }

    /// Starts an object written in parts, for one too large to hold whole
    /// in memory beside what it is written from. Like [`Lake::put`], it
    /// becomes visible at once, on [`Upload::finish`], or not at all.
    pub async fn upload(&self, relative: &str) -> Result<Upload> {
        let location = self.location(relative);
        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(|source| LakeError::Store {
                location: location.to_string(),
                source,
            })?;
        Ok(Upload {
            parts: WriteMultipart::new(upload),
            location,
        })
    }

    pub async fn get(&self, relative: &str) -> Result<Bytes> {
        let location = self.location(relative);
        let store_err = |source| LakeError::Store {
            location: location.to_string(),
            source,
        };
        self.store
            .get(&location)
            .await
            .map_err(store_err)?
            .bytes()
            .await
            .map_err(store_err)
    }

    /// Reads an object that may not exist yet.
    pub async fn get_opt(&self, relative: &str) -> Result<Option<Bytes>> {
        match self.get(relative).await {
            Ok(b) => Ok(Some(b)),
            Err(LakeError::Store {
                source: object_store::Error::NotFound { .. },
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn delete(&self, relative: &str) -> Result<()> {
        let location = self.location(relative);
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(LakeError::Store {
                location: location.to_string(),
                source,
            }),
        }
    }

    /// Every object below `relative`, as paths relative to the lake root,
    /// sorted. Temp files of an unfinished write are never listed.
    pub async fn list(&self, relative: &str) -> Result<Vec<String>> {
        let location = self.location(relative);
        let prefix_len = self.prefix.parts().count();
        let mut found: Vec<String> = self
            .store
            .list(Some(&location))
            .map_ok(|meta| {
                meta.location
                    .parts()
                    .skip(prefix_len)
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .try_collect()
            .await
            .map_err(|source| LakeError::Store {
                location: location.to_string(),
                source,
            })?;
        found.retain(|p| !p.rsplit('/').next().unwrap_or("").starts_with('.'));
        found.sort();
        Ok(found)
    }
}

/// Parts sent to the store at once by an [`Upload`]: bounds what a fast
/// writer holds in memory when the store is slower.
const PARTS_IN_FLIGHT: usize = 2;

/// An object being written in parts ([`Lake::upload`]).
pub struct Upload {
    parts: WriteMultipart,
    location: StorePath,
}

impl Upload {
    /// Appends `bytes`; waits while [`PARTS_IN_FLIGHT`] parts are being sent.
    pub async fn write(&mut self, bytes: Bytes) -> Result<()> {
        let location = &self.location;
        self.parts
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|source| LakeError::Store {
                location: location.to_string(),
                source,
            })?;
        self.parts.put(bytes);
        Ok(())
    }

    /// Sends the last part and makes the object visible.
    pub async fn finish(self) -> Result<()> {
        let location = self.location.to_string();
        self.parts
            .finish()
            .await
            .map_err(|source| LakeError::Store { location, source })?;
        Ok(())
    }

    /// Gives the object up: nothing of it stays visible.
    pub async fn abort(self) -> Result<()> {
        let location = self.location.to_string();
        self.parts
            .abort()
            .await
            .map_err(|source| LakeError::Store { location, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn folder_and_file_url_open_the_same_lake() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        lake.put(
            "events/source=online/dt=2026-11-20/a.parquet",
            Bytes::from_static(b"x"),
        )
        .await
        .unwrap();
        let url = format!("file://{}", dir.path().display());
        let same = Lake::open(&url).unwrap();
        assert_eq!(
            same.list("events").await.unwrap(),
            vec!["events/source=online/dt=2026-11-20/a.parquet"]
        );
        assert_eq!(
            same.get("events/source=online/dt=2026-11-20/a.parquet")
                .await
                .unwrap()
                .as_ref(),
            b"x"
        );
        assert!(same.get_opt("missing.json").await.unwrap().is_none());
    }

    /// Parts larger than one store part, written apart, read back as one
    /// object; nothing is listed before `finish`, nor after `abort`.
    #[tokio::test]
    async fn an_upload_is_visible_whole_on_finish_and_never_when_aborted() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let parts: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 3 << 20]).collect();
        let mut upload = lake.upload("state/a.arrow").await.unwrap();
        for part in &parts {
            upload.write(Bytes::from(part.clone())).await.unwrap();
        }
        assert!(lake.list("state").await.unwrap().is_empty());
        upload.finish().await.unwrap();
        assert_eq!(lake.get("state/a.arrow").await.unwrap(), parts.concat());

        let mut upload = lake.upload("state/b.arrow").await.unwrap();
        upload.write(Bytes::from(parts[0].clone())).await.unwrap();
        upload.abort().await.unwrap();
        assert_eq!(lake.list("state").await.unwrap(), vec!["state/a.arrow"]);
    }

    /// A run's old state folder goes with its last file; the lake's own
    /// folder stays, even empty.
    #[tokio::test]
    async fn deleting_a_folders_last_file_removes_the_folder_not_the_lake() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lake");
        let lake = Lake::open(root.to_str().unwrap()).unwrap();
        for f in [
            "identity/state/r1/nodes.arrow",
            "identity/state/r2/nodes.arrow",
        ] {
            lake.put(f, Bytes::from_static(b"x")).await.unwrap();
        }
        lake.delete("identity/state/r1/nodes.arrow").await.unwrap();
        assert!(!root.join("identity/state/r1").exists());
        assert!(root.join("identity/state/r2").exists());
        lake.delete("identity/state/r2/nodes.arrow").await.unwrap();
        assert!(!root.join("identity").exists());
        assert!(root.is_dir(), "the lake's folder itself was removed");
        assert!(lake.list("identity").await.unwrap().is_empty());
    }

    #[test]
    fn a_bad_url_is_refused_with_its_name() {
        let err = Lake::open("nosuchscheme://x/y").unwrap_err();
        assert!(err.to_string().contains("nosuchscheme://x/y"), "{err}");
    }
}
