//! The device sessions on the page: a list of named entries with stable ids, one selected.
//! Each entry keeps the settings its session reports (what is stored), and a status badge for
//! the tab strip; the session's own [`DeviceState`](super::device::DeviceState) lives in its
//! component.

use std::rc::Rc;

use yew::Reducible;

use super::device::ConnectionStatus;
use super::settings::SessionSettings;

/// The longest session name kept.
pub const MAX_NAME: usize = 40;

/// A session's connection status, reduced to what a tab shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Badge {
    /// Not connected.
    #[default]
    Idle,
    /// Connecting.
    Pending,
    /// Connected.
    Ok,
    /// Reconnecting.
    Warn,
    /// Failed.
    Bad,
}

impl Badge {
    /// The badge for a status.
    pub fn of(status: &ConnectionStatus) -> Self {
        match status {
            ConnectionStatus::Disconnected => Self::Idle,
            ConnectionStatus::Connecting => Self::Pending,
            ConnectionStatus::Connected => Self::Ok,
            ConnectionStatus::Reconnecting { .. } => Self::Warn,
            ConnectionStatus::Failed { .. } => Self::Bad,
        }
    }

    /// CSS class and words for screen readers.
    pub fn class_and_label(self) -> (&'static str, &'static str) {
        match self {
            Self::Idle => ("idle", "disconnected"),
            Self::Pending => ("pending", "connecting"),
            Self::Ok => ("ok", "connected"),
            Self::Warn => ("warn", "reconnecting"),
            Self::Bad => ("bad", "failed"),
        }
    }
}

/// One device session in the list.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionEntry {
    /// Stable id (keys the component, prefixes its element ids).
    pub id: u64,
    /// Name shown on the tab.
    pub name: String,
    /// What the session reported last (and what the page stores).
    pub settings: SessionSettings,
    /// Connection status for the tab.
    pub badge: Badge,
}

/// The sessions and which one is shown.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionsState {
    /// Sessions in tab order.
    pub entries: Vec<SessionEntry>,
    /// The shown session.
    pub selected: Option<u64>,
    /// Store connection strings and tokens with the settings.
    pub remember_secrets: bool,
    next_id: u64,
}

impl Default for SessionsState {
    /// One session with default settings.
    fn default() -> Self {
        Self::from_settings(vec![(String::new(), SessionSettings::default())], false)
    }
}

/// Everything that changes [`SessionsState`].
#[derive(Clone, Debug, PartialEq)]
pub enum SessionsAction {
    /// Add a session with default settings and show it.
    Add,
    /// Remove a session (its component unmounts and closes its connection).
    Remove(u64),
    /// Rename a session (trimmed to [`MAX_NAME`] characters; empty restores the default).
    Rename(u64, String),
    /// Show a session.
    Select(u64),
    /// Show the next (`true`) or previous session, wrapping around.
    SelectAdjacent(bool),
    /// A session's settings changed.
    Settings(u64, SessionSettings),
    /// A session's connection status changed.
    Status(u64, Badge),
    /// Tick or untick "remember secrets".
    RememberSecrets(bool),
}

impl SessionsState {
    /// Sessions from stored `(name, settings)` pairs; ids count from 1 in order.
    pub fn from_settings(sessions: Vec<(String, SessionSettings)>, remember_secrets: bool) -> Self {
        let mut state = Self {
            entries: Vec::new(),
            selected: None,
            remember_secrets,
            next_id: 1,
        };
        for (name, settings) in sessions {
            state.push(name, settings);
        }
        state.selected = state.entries.first().map(|e| e.id);
        state
    }

    fn push(&mut self, name: String, settings: SessionSettings) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let name = clean_name(&name).unwrap_or_else(|| default_name(id));
        self.entries.push(SessionEntry {
            id,
            name,
            settings,
            badge: Badge::Idle,
        });
        id
    }

    /// The entry with this id.
    pub fn entry(&self, id: u64) -> Option<&SessionEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Applies one action.
    pub fn apply(&mut self, action: SessionsAction) {
        match action {
            SessionsAction::Add => {
                let id = self.push(String::new(), SessionSettings::default());
                self.selected = Some(id);
            }
            SessionsAction::Remove(id) => {
                let Some(index) = self.entries.iter().position(|e| e.id == id) else {
                    return;
                };
                self.entries.remove(index);
                if self.selected == Some(id) {
                    // Show the neighbour that took its place, else the one before.
                    self.selected = self
                        .entries
                        .get(index)
                        .or_else(|| self.entries.last())
                        .map(|e| e.id);
                }
            }
            SessionsAction::Rename(id, name) => {
                if let Some(entry) = self.entries.iter_mut().find(|e| e.id == id) {
                    entry.name = clean_name(&name).unwrap_or_else(|| default_name(id));
                }
            }
            SessionsAction::Select(id) => {
                if self.entry(id).is_some() {
                    self.selected = Some(id);
                }
            }
            SessionsAction::SelectAdjacent(forward) => {
                let len = self.entries.len();
                let Some(index) = self
                    .entries
                    .iter()
                    .position(|e| Some(e.id) == self.selected)
                else {
                    self.selected = self.entries.first().map(|e| e.id);
                    return;
                };
                let next = if forward {
                    (index + 1) % len
                } else {
                    (index + len - 1) % len
                };
                self.selected = self.entries.get(next).map(|e| e.id);
            }
            SessionsAction::Settings(id, settings) => {
                if let Some(entry) = self.entries.iter_mut().find(|e| e.id == id) {
                    entry.settings = settings;
                }
            }
            SessionsAction::Status(id, badge) => {
                if let Some(entry) = self.entries.iter_mut().find(|e| e.id == id) {
                    entry.badge = badge;
                }
            }
            SessionsAction::RememberSecrets(on) => self.remember_secrets = on,
        }
    }
}

fn default_name(id: u64) -> String {
    format!("Device {id}")
}

fn clean_name(name: &str) -> Option<String> {
    let name: String = name.trim().chars().take(MAX_NAME).collect();
    (!name.is_empty()).then_some(name)
}

impl Reducible for SessionsState {
    type Action = SessionsAction;

    fn reduce(self: Rc<Self>, action: SessionsAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        // Unchanged state keeps the same Rc, so Yew skips the render.
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::device::{Protocol, Source};

    fn ids(state: &SessionsState) -> Vec<u64> {
        state.entries.iter().map(|e| e.id).collect()
    }

    #[test]
    fn starts_with_one_selected_session() {
        let state = SessionsState::default();
        assert_eq!(ids(&state), [1]);
        assert_eq!(state.selected, Some(1));
        assert_eq!(state.entries[0].name, "Device 1");
        assert!(!state.remember_secrets);
    }

    #[test]
    fn add_gives_new_stable_ids_and_selects_the_new_session() {
        let mut state = SessionsState::default();
        state.apply(SessionsAction::Add);
        state.apply(SessionsAction::Add);
        assert_eq!(ids(&state), [1, 2, 3]);
        assert_eq!(state.selected, Some(3));
        state.apply(SessionsAction::Remove(2));
        state.apply(SessionsAction::Add);
        assert_eq!(ids(&state), [1, 3, 4], "ids are never reused");
    }

    #[test]
    fn removing_the_selected_session_selects_a_neighbour() {
        let mut state = SessionsState::default();
        state.apply(SessionsAction::Add);
        state.apply(SessionsAction::Add);
        state.apply(SessionsAction::Select(2));
        state.apply(SessionsAction::Remove(2));
        assert_eq!(state.selected, Some(3));
        state.apply(SessionsAction::Remove(3));
        assert_eq!(state.selected, Some(1));
        state.apply(SessionsAction::Remove(1));
        assert_eq!(state.selected, None);
        assert!(state.entries.is_empty());
        state.apply(SessionsAction::Remove(9));
        state.apply(SessionsAction::SelectAdjacent(true));
        assert_eq!(state.selected, None);
    }

    #[test]
    fn removing_another_session_keeps_the_selection() {
        let mut state = SessionsState::default();
        state.apply(SessionsAction::Add);
        state.apply(SessionsAction::Remove(1));
        assert_eq!(state.selected, Some(2));
    }

    #[test]
    fn rename_trims_limits_and_falls_back_to_the_default() {
        let mut state = SessionsState::default();
        state.apply(SessionsAction::Rename(1, "  boiler room ".into()));
        assert_eq!(state.entries[0].name, "boiler room");
        state.apply(SessionsAction::Rename(1, "x".repeat(100)));
        assert_eq!(state.entries[0].name.chars().count(), MAX_NAME);
        state.apply(SessionsAction::Rename(1, "   ".into()));
        assert_eq!(state.entries[0].name, "Device 1");
    }

    #[test]
    fn select_ignores_unknown_ids_and_adjacent_wraps() {
        let mut state = SessionsState::default();
        state.apply(SessionsAction::Add);
        state.apply(SessionsAction::Add);
        state.apply(SessionsAction::Select(42));
        assert_eq!(state.selected, Some(3));
        state.apply(SessionsAction::SelectAdjacent(true));
        assert_eq!(state.selected, Some(1));
        state.apply(SessionsAction::SelectAdjacent(false));
        assert_eq!(state.selected, Some(3));
        state.apply(SessionsAction::SelectAdjacent(false));
        assert_eq!(state.selected, Some(2));
    }

    #[test]
    fn settings_and_status_reports_update_their_entry_only() {
        let mut state = SessionsState::default();
        state.apply(SessionsAction::Add);
        let settings = SessionSettings {
            source: Source::Pasted,
            protocol: Protocol::Https,
            ..SessionSettings::default()
        };
        state.apply(SessionsAction::Settings(2, settings.clone()));
        state.apply(SessionsAction::Status(
            2,
            Badge::of(&ConnectionStatus::Connected),
        ));
        assert_eq!(state.entries[1].settings, settings);
        assert_eq!(state.entries[1].badge, Badge::Ok);
        assert_eq!(state.entries[0].settings, SessionSettings::default());
        assert_eq!(state.entries[0].badge, Badge::Idle);
    }

    #[test]
    fn badges_follow_the_connection_status() {
        let reconnecting = ConnectionStatus::Reconnecting {
            attempt: 1,
            retry_in_ms: Some(500),
            next_try_at: None,
            reason: "lost".into(),
        };
        assert_eq!(Badge::of(&reconnecting), Badge::Warn);
        let failed = ConnectionStatus::Failed {
            reason: "no".into(),
        };
        assert_eq!(Badge::of(&failed), Badge::Bad);
        assert_eq!(Badge::of(&ConnectionStatus::Connecting), Badge::Pending);
    }
}
