//! An erasure target in memory: a destination holding some items per user, answering each
//! erase as scripted (throttled, failing) before it deletes. It is not Pinpoint: the shard loop
//! is shown to work for any target.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::error::ErasureError;
use crate::ports::{Erased, ErasureTarget, Holding, TargetKind};

/// A scripted answer to one erase of one user.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Throttled (the quota answered).
    Throttle,
    /// This error.
    Fail(ErasureError),
}

#[derive(Default)]
struct State {
    data: HashMap<String, u64>,
    script: HashMap<String, VecDeque<Behaviour>>,
    always: HashMap<String, Behaviour>,
    check: Option<ErasureError>,
    calls: HashMap<String, u64>,
    deletions: HashMap<String, u64>,
    comes_back: HashMap<String, u64>,
    total: u64,
}

/// A destination in memory.
pub struct FakeTarget {
    kind: TargetKind,
    id: String,
    state: Mutex<State>,
}

impl FakeTarget {
    /// An empty destination called `id` (of the first kind, Pinpoint's).
    pub fn new(id: &str) -> Self {
        Self::of_kind(TargetKind::Pinpoint, id)
    }

    /// An empty destination of kind `kind` called `id`.
    pub fn of_kind(kind: TargetKind, id: &str) -> Self {
        FakeTarget {
            kind,
            id: id.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    /// Whenever `user`'s items are deleted, `items` come back at once (re-created by an
    /// integration): the target's verifying read finds them.
    pub fn comes_back(&self, user: &str, items: u64) {
        self.with(|s| {
            s.comes_back.insert(user.to_string(), items);
        });
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }

    /// The user holds `items` items here.
    pub fn holds(&self, user: &str, items: u64) {
        self.with(|s| {
            s.data.insert(user.to_string(), items);
        });
    }

    /// The next erases of `user` answer these, in order, before the real one.
    pub fn script(&self, user: &str, answers: Vec<Behaviour>) {
        self.with(|s| {
            s.script
                .entry(user.to_string())
                .or_default()
                .extend(answers)
        });
    }

    /// Every erase of `user` answers this.
    pub fn always(&self, user: &str, answer: Behaviour) {
        self.with(|s| {
            s.always.insert(user.to_string(), answer);
        });
    }

    /// The destination's check fails with this error.
    pub fn unusable_with(&self, error: ErasureError) {
        self.with(|s| s.check = Some(error));
    }

    /// Items the user still holds.
    pub fn left(&self, user: &str) -> u64 {
        self.with(|s| s.data.get(user).copied().unwrap_or(0))
    }

    /// Erase calls made for `user`.
    pub fn calls(&self, user: &str) -> u64 {
        self.with(|s| s.calls.get(user).copied().unwrap_or(0))
    }

    /// Erase calls that deleted something for `user` (more than one would be a double count).
    pub fn deletions(&self, user: &str) -> u64 {
        self.with(|s| s.deletions.get(user).copied().unwrap_or(0))
    }

    /// Erase calls made in all.
    pub fn total_calls(&self) -> u64 {
        self.with(|s| s.total)
    }
}

impl ErasureTarget for FakeTarget {
    fn kind(&self) -> TargetKind {
        self.kind
    }

    fn id(&self) -> &str {
        &self.id
    }

    async fn check(&self) -> Result<(), ErasureError> {
        self.with(|s| s.check.clone().map_or(Ok(()), Err))
    }

    fn unusable(&self, error: &ErasureError) -> &'static str {
        match error {
            ErasureError::NotFound(_) => "destination not found",
            ErasureError::Forbidden(_) => "access denied",
            _ => "destination check failed",
        }
    }

    async fn preview(&self, user: &str) -> Result<Holding, ErasureError> {
        self.with(|s| match s.data.get(user) {
            Some(n) if *n > 0 => Ok(Holding::Items(*n)),
            _ => Ok(Holding::Nothing),
        })
    }

    async fn erase(&self, user: &str) -> Result<Erased, ErasureError> {
        self.with(|s| {
            *s.calls.entry(user.to_string()).or_default() += 1;
            s.total += 1;
            let scripted = s
                .script
                .get_mut(user)
                .and_then(VecDeque::pop_front)
                .or_else(|| s.always.get(user).cloned());
            match scripted {
                Some(Behaviour::Throttle) => {
                    return Err(ErasureError::Throttled("scripted".into()))
                }
                Some(Behaviour::Fail(e)) => return Err(e),
                None => {}
            }
            match s.data.remove(user) {
                Some(n) if n > 0 => {
                    *s.deletions.entry(user.to_string()).or_default() += 1;
                    if let Some(back) = s.comes_back.get(user).copied() {
                        s.data.insert(user.to_string(), back);
                        return Ok(Erased::Reappeared(n));
                    }
                    Ok(Erased::Deleted(n))
                }
                _ => Ok(Erased::NothingThere),
            }
        })
    }
}
