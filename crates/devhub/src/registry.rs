//! Device registry persisted as JSON in the state folder.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use hubwire_iothub::DeviceId;
use serde::{Deserialize, Serialize};

/// File name of the registry inside the state folder.
pub const REGISTRY_FILE: &str = "registry.json";

/// Registry errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Reading or writing the registry file failed.
    #[error("registry file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The registry file is not valid JSON of the expected shape.
    #[error("registry file {path} is malformed: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The device id breaks IoT Hub's id rules.
    #[error("invalid device id: {0}")]
    InvalidId(String),
    /// A supplied key is not base64 of at least 16 bytes.
    #[error("primary key must be base64 of 16 to 64 bytes")]
    InvalidKey,
    /// The device exists already.
    #[error("device {0} already exists")]
    Exists(String),
    /// The device does not exist.
    #[error("device {0} not found")]
    NotFound(String),
    /// The operating system could not supply random bytes.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// One registered device.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    /// Device id (validated on creation).
    pub device_id: String,
    /// Base64 symmetric key.
    pub primary_key: String,
    /// Base64 symmetric key (also accepted for SAS verification).
    pub secondary_key: String,
    /// Changes every time a device with this id is created.
    pub generation_id: String,
}

impl fmt::Debug for DeviceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceRecord")
            .field("device_id", &self.device_id)
            .field("primary_key", &"<redacted>")
            .field("secondary_key", &"<redacted>")
            .field("generation_id", &self.generation_id)
            .finish()
    }
}

#[derive(Serialize, Deserialize, Default)]
struct RegistryFile {
    devices: Vec<DeviceRecord>,
}

/// The device registry: in memory, written through to `{state}/registry.json`.
pub struct Registry {
    path: PathBuf,
    devices: BTreeMap<String, DeviceRecord>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("path", &self.path)
            .field("devices", &self.devices.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// Loads `{state_dir}/registry.json`, or creates it with `demo_devices` demo devices
    /// (`demo-device-1` …) when it does not exist yet.
    pub fn open(state_dir: &Path, demo_devices: u32) -> Result<Self, RegistryError> {
        let path = state_dir.join(REGISTRY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let file: RegistryFile =
                    serde_json::from_slice(&bytes).map_err(|source| RegistryError::Malformed {
                        path: path.clone(),
                        source,
                    })?;
                let devices = file
                    .devices
                    .into_iter()
                    .map(|d| (d.device_id.clone(), d))
                    .collect();
                Ok(Self { path, devices })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut reg = Self {
                    path,
                    devices: BTreeMap::new(),
                };
                for i in 1..=demo_devices {
                    let id = format!("demo-device-{i}");
                    let record = new_record(&id, None)?;
                    reg.devices.insert(id, record);
                }
                reg.save()?;
                Ok(reg)
            }
            Err(source) => Err(RegistryError::Io { path, source }),
        }
    }

    /// Path of the registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All devices, ordered by id.
    pub fn devices(&self) -> impl Iterator<Item = &DeviceRecord> {
        self.devices.values()
    }

    /// One device.
    pub fn get(&self, device_id: &str) -> Option<&DeviceRecord> {
        self.devices.get(device_id)
    }

    /// Creates a device with a random key (or `primary_key`) and saves the registry.
    pub fn create(
        &mut self,
        device_id: &str,
        primary_key: Option<&str>,
    ) -> Result<DeviceRecord, RegistryError> {
        DeviceId::new(device_id).map_err(|e| RegistryError::InvalidId(e.to_string()))?;
        if self.devices.contains_key(device_id) {
            return Err(RegistryError::Exists(device_id.to_owned()));
        }
        let record = new_record(device_id, primary_key)?;
        self.devices.insert(device_id.to_owned(), record.clone());
        if let Err(e) = self.save() {
            self.devices.remove(device_id);
            return Err(e);
        }
        Ok(record)
    }

    /// Deletes a device and saves the registry.
    pub fn delete(&mut self, device_id: &str) -> Result<DeviceRecord, RegistryError> {
        let record = self
            .devices
            .remove(device_id)
            .ok_or_else(|| RegistryError::NotFound(device_id.to_owned()))?;
        if let Err(e) = self.save() {
            self.devices.insert(device_id.to_owned(), record);
            return Err(e);
        }
        Ok(record)
    }

    /// Writes the registry atomically: a temporary file in the same folder, then a rename.
    fn save(&self) -> Result<(), RegistryError> {
        let io = |source| RegistryError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = RegistryFile {
            devices: self.devices.values().cloned().collect(),
        };
        let mut json =
            serde_json::to_vec_pretty(&file).map_err(|source| RegistryError::Malformed {
                path: self.path.clone(),
                source,
            })?;
        json.push(b'\n');
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&json).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

fn new_record(device_id: &str, primary_key: Option<&str>) -> Result<DeviceRecord, RegistryError> {
    let primary_key = match primary_key {
        Some(k) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(k)
                .map_err(|_| RegistryError::InvalidKey)?;
            if !(16..=64).contains(&raw.len()) {
                return Err(RegistryError::InvalidKey);
            }
            k.to_owned()
        }
        None => random_key()?,
    };
    let mut gen = [0u8; 8];
    fill_random(&mut gen)?;
    // IoT Hub generation ids are 18-digit decimal numbers.
    let generation_id = format!(
        "{:018}",
        u64::from_le_bytes(gen) % 1_000_000_000_000_000_000
    );
    Ok(DeviceRecord {
        device_id: device_id.to_owned(),
        primary_key,
        secondary_key: random_key()?,
        generation_id,
    })
}

/// 32 random bytes from the operating system's CSPRNG, base64-encoded.
pub fn random_key() -> Result<String, RegistryError> {
    let mut key = [0u8; 32];
    fill_random(&mut key)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(key))
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<(), RegistryError> {
    getrandom::fill(buf).map_err(|e| RegistryError::Random(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let mut b = [0u8; 8];
        let _ = fill_random(&mut b);
        let dir = std::env::temp_dir().join(format!("devhub-reg-{name}-{}", u64::from_le_bytes(b)));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn demo_devices_are_created_once_and_reused() {
        let dir = temp_dir("demo");
        let reg = Registry::open(&dir, 3).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = reg.devices().map(|d| d.device_id.as_str()).collect();
        assert_eq!(ids, vec!["demo-device-1", "demo-device-2", "demo-device-3"]);
        let keys: Vec<String> = reg.devices().map(|d| d.primary_key.clone()).collect();
        for k in &keys {
            let raw = base64::engine::general_purpose::STANDARD.decode(k);
            assert_eq!(raw.map(|r| r.len()).ok(), Some(32));
        }
        assert_ne!(keys.first(), keys.get(1));
        drop(reg);
        // A second start reuses the same devices and keys, whatever N says now.
        let again = Registry::open(&dir, 5).unwrap_or_else(|e| panic!("{e}"));
        let keys2: Vec<String> = again.devices().map(|d| d.primary_key.clone()).collect();
        assert_eq!(keys, keys2);
        assert!(!dir.join("registry.json.tmp").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn create_and_delete_persist() {
        let dir = temp_dir("crud");
        let mut reg = Registry::open(&dir, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reg.devices().count(), 0);
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let d = reg
            .create("sensor-1", Some(key))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.primary_key, key);
        assert_eq!(d.generation_id.len(), 18);
        assert!(matches!(
            reg.create("sensor-1", None),
            Err(RegistryError::Exists(_))
        ));
        assert!(matches!(
            reg.create("bad#id", None),
            Err(RegistryError::InvalidId(_))
        ));
        assert!(matches!(
            reg.create("k", Some("short")),
            Err(RegistryError::InvalidKey)
        ));
        reg.create("sensor-2", None)
            .unwrap_or_else(|e| panic!("{e}"));
        reg.delete("sensor-2").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            reg.delete("sensor-2"),
            Err(RegistryError::NotFound(_))
        ));
        let reloaded = Registry::open(&dir, 3).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = reloaded.devices().map(|d| d.device_id.as_str()).collect();
        assert_eq!(ids, vec!["sensor-1"]);
        assert_eq!(
            reloaded.get("sensor-1").map(|d| d.primary_key.as_str()),
            Some(key)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_redacts_keys() {
        let d = new_record("x", None).unwrap_or_else(|e| panic!("{e}"));
        let s = format!("{d:?}");
        assert!(!s.contains(&d.primary_key));
        assert!(!s.contains(&d.secondary_key));
        assert!(s.contains("<redacted>"));
    }

    #[test]
    fn malformed_file_is_an_error() {
        let dir = temp_dir("bad");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(REGISTRY_FILE), b"{not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Registry::open(&dir, 1),
            Err(RegistryError::Malformed { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
