//! The application-properties editor model shared by the D2C and C2D composers.

use core::fmt;

/// One editable key/value row. `id` is stable for the row's lifetime so the view can key it and
/// edits address the right row after others are removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyRow {
    /// Stable row id.
    pub id: u32,
    /// Property name as typed.
    pub key: String,
    /// Property value as typed.
    pub value: String,
}

/// An edit to a [`PropertyRows`] list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyEdit {
    /// Append an empty row.
    Add,
    /// Remove the row with this id.
    Remove(u32),
    /// Replace the key of the row with this id.
    Key(u32, String),
    /// Replace the value of the row with this id.
    Value(u32, String),
}

/// Why the rows cannot become a property map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyError {
    /// A row has a value but no name.
    EmptyKey {
        /// 1-based row position, as the user sees it.
        row: usize,
    },
    /// Two rows use the same name.
    DuplicateKey {
        /// The repeated name.
        key: String,
    },
}

impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyKey { row } => write!(f, "property row {row} has a value but no name"),
            Self::DuplicateKey { key } => write!(f, "property \"{key}\" appears more than once"),
        }
    }
}

/// An ordered list of editable property rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PropertyRows {
    rows: Vec<PropertyRow>,
    next_id: u32,
}

impl PropertyRows {
    /// The rows in display order.
    pub fn rows(&self) -> &[PropertyRow] {
        &self.rows
    }

    /// Applies one edit. Edits naming a row that no longer exists are ignored: they can arrive
    /// from an input event queued just before the row was removed.
    pub fn apply(&mut self, edit: PropertyEdit) {
        match edit {
            PropertyEdit::Add => {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                self.rows.push(PropertyRow {
                    id,
                    key: String::new(),
                    value: String::new(),
                });
            }
            PropertyEdit::Remove(id) => self.rows.retain(|row| row.id != id),
            PropertyEdit::Key(id, key) => {
                if let Some(row) = self.rows.iter_mut().find(|row| row.id == id) {
                    row.key = key;
                }
            }
            PropertyEdit::Value(id, value) => {
                if let Some(row) = self.rows.iter_mut().find(|row| row.id == id) {
                    row.value = value;
                }
            }
        }
    }

    /// The properties to send, in row order. Rows left completely blank are skipped; names are
    /// trimmed, values are sent as typed.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, PropertyError> {
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(self.rows.len());
        for (index, row) in self.rows.iter().enumerate() {
            let key = row.key.trim();
            if key.is_empty() {
                if row.value.is_empty() {
                    continue;
                }
                return Err(PropertyError::EmptyKey { row: index + 1 });
            }
            if pairs.iter().any(|(k, _)| k == key) {
                return Err(PropertyError::DuplicateKey {
                    key: key.to_owned(),
                });
            }
            pairs.push((key.to_owned(), row.value.clone()));
        }
        Ok(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_with(pairs: &[(&str, &str)]) -> PropertyRows {
        let mut rows = PropertyRows::default();
        for (k, v) in pairs {
            rows.apply(PropertyEdit::Add);
            let id = rows.rows().last().map(|r| r.id).unwrap_or_default();
            rows.apply(PropertyEdit::Key(id, (*k).to_owned()));
            rows.apply(PropertyEdit::Value(id, (*v).to_owned()));
        }
        rows
    }

    #[test]
    fn add_assigns_distinct_ids_and_remove_targets_one_row() {
        let mut rows = rows_with(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let ids: Vec<u32> = rows.rows().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![0, 1, 2]);
        rows.apply(PropertyEdit::Remove(1));
        let keys: Vec<&str> = rows.rows().iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, vec!["a", "c"]);
        // A new row never reuses the id of a removed one.
        rows.apply(PropertyEdit::Add);
        assert_eq!(rows.rows().last().map(|r| r.id), Some(3));
    }

    #[test]
    fn edits_to_removed_rows_are_ignored() {
        let mut rows = rows_with(&[("a", "1")]);
        rows.apply(PropertyEdit::Remove(0));
        rows.apply(PropertyEdit::Key(0, "ghost".into()));
        assert!(rows.rows().is_empty());
    }

    #[test]
    fn pairs_keep_order_trim_names_and_skip_blank_rows() {
        let mut rows = rows_with(&[(" temp ", "21.5"), ("", ""), ("unit", " C")]);
        rows.apply(PropertyEdit::Add);
        assert_eq!(
            rows.to_pairs(),
            Ok(vec![
                ("temp".to_owned(), "21.5".to_owned()),
                ("unit".to_owned(), " C".to_owned()),
            ])
        );
    }

    #[test]
    fn value_without_name_is_rejected_with_its_row_number() {
        let rows = rows_with(&[("a", "1"), ("  ", "orphan")]);
        assert_eq!(rows.to_pairs(), Err(PropertyError::EmptyKey { row: 2 }));
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let rows = rows_with(&[("a", "1"), ("a ", "2")]);
        assert_eq!(
            rows.to_pairs(),
            Err(PropertyError::DuplicateKey { key: "a".into() })
        );
    }
}
