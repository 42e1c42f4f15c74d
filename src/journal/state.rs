//! Message states of the journal and their names in the database.
//!
//! The happy path is received → parsed → mapped → priced → delivered.
//! `failed` is a delivery failure waiting for its next attempt; `held`
//! waits for a person (price check, credit limit, no route); `rejected`
//! is invalid input; `dead` has used every attempt; `duplicate` was seen
//! before; `resolved` was closed by hand by an operator. Final states are
//! never claimed again (a replay resets them).

/// A message's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Received,
    Parsed,
    Mapped,
    Priced,
    Delivered,
    Held,
    Rejected,
    Failed,
    Dead,
    Duplicate,
    /// Closed by hand by an operator (with a reason, in the history).
    Resolved,
}

impl State {
    /// Every state.
    pub const ALL: [State; 11] = [
        State::Received,
        State::Parsed,
        State::Mapped,
        State::Priced,
        State::Delivered,
        State::Held,
        State::Rejected,
        State::Failed,
        State::Dead,
        State::Duplicate,
        State::Resolved,
    ];

    /// Name in the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Parsed => "parsed",
            State::Mapped => "mapped",
            State::Priced => "priced",
            State::Delivered => "delivered",
            State::Held => "held",
            State::Rejected => "rejected",
            State::Failed => "failed",
            State::Dead => "dead",
            State::Duplicate => "duplicate",
            State::Resolved => "resolved",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// True when the daemon will not process the message again by itself.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Delivered
                | State::Held
                | State::Rejected
                | State::Dead
                | State::Duplicate
                | State::Resolved
        )
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
